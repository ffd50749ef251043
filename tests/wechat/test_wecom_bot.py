"""WeCom AI bot: the JSON callback parser, group @-mentions answered with encrypted JSON, response_url replies."""

from __future__ import annotations

import json
import time

import pytest
from sqlmodel import Session, select

from adapters.base import MalformedPayload
from adapters.wecom_bot.adapter import parse_callback, to_message
from core.message import MessageKind
from core.models import Ticket

COMPLAINT = "小区门口的垃圾桶满了好几天没人清运，味道很大"


def callback(**fields) -> str:
    base = {"msgid": "m1", "aibotid": "AIBOT", "chatid": "wrkGROUP", "chattype": "group", "from": {"userid": "zhangsan"},
            "response_url": "https://example.invalid/r", "msgtype": "text", "text": {"content": "@邻里助手 楼道灯坏了"}}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None}, ensure_ascii=False)


def shown(answer: dict) -> str:
    """The text a group member sees in an AI-bot answer (a template card or a stream)."""
    return answer["template_card"]["sub_title_text"] if answer["msgtype"] == "template_card" else answer["stream"]["content"]


def test_a_group_text_mention_becomes_a_group_message_without_the_mention():
    message = to_message(parse_callback(callback()), {})
    assert (message.platform, message.chat_id, message.sender_id, message.is_group) == ("wecom-bot", "wrkGROUP", "zhangsan", True)
    assert message.text == "楼道灯坏了" and message.addressed_to_bot and message.message_id == "m1"


def test_a_single_chat_is_keyed_by_the_user():
    message = to_message(parse_callback(callback(chattype="single", chatid=None)), {})
    assert message.chat_id == "zhangsan" and not message.is_group


def test_mixed_items_give_text_and_images():
    mixed = {"msg_item": [{"msgtype": "text", "text": {"content": "@邻里助手 井盖丢了"}},
                          {"msgtype": "image", "image": {"url": "https://img.example/1"}}]}
    message = to_message(parse_callback(callback(msgtype="mixed", text=None, mixed=mixed)), {})
    assert message.text == "井盖丢了" and [a.ref for a in message.attachments] == ["https://img.example/1"]


def test_voice_content_is_the_transcript():
    message = to_message(parse_callback(callback(msgtype="voice", text=None, voice={"content": "停水了"})), {})
    assert message.voice_transcript == "停水了" and message.content == "停水了"


def test_a_quote_is_kept_with_the_message():
    quote = {"msgtype": "text", "text": {"content": "#3 已受理"}}
    message = to_message(parse_callback(callback(quote=quote)), {})
    assert message.raw["quoted_text"] == "#3 已受理"


def test_a_template_card_click_is_a_button_press():
    event = {"eventtype": "template_card_event", "template_card_event": {"card_type": "button_interaction",
                                                                          "event_key": "t:confirm:7", "task_id": "x"}}
    message = to_message(parse_callback(callback(msgtype="event", text=None, event=event)), {})
    assert message.kind is MessageKind.ACTION and message.action_data == "t:confirm:7"


@pytest.mark.parametrize("payload,problem", [
    ("[]", "JSON object"), ("{", "not JSON"), (callback(**{"from": None}), "from"), (callback(chatid=None), "chatid"),
])
def test_malformed_callbacks_say_what_is_wrong(payload, problem):
    with pytest.raises(MalformedPayload, match=problem):
        parse_callback(payload)


async def test_group_mention_complaint_gets_an_encrypted_reply_with_the_ticket_number(wx, wx_runtime, fake):
    response = await wx.bot_post(wx.group_mention("zhangsan", COMPLAINT, "msg-1", fake_base=fake.base_url))
    assert response.status_code == 200
    answer = wx.bot_open_reply(response)
    with Session(wx_runtime.engine) as session:
        ticket = session.exec(select(Ticket)).one()
    assert ticket.chat_key == f"wecom-bot:{wx.bot_group}" and ticket.grid_id == "xingfu-2"
    assert f"#{ticket.id}" in shown(answer)
    if answer["msgtype"] == "template_card":  # 确认/驳回 buttons for the grid worker, keyed by the action data
        assert f"t:confirm:{ticket.id}" in [b["key"] for b in answer["template_card"]["button_list"]]
    else:
        assert answer["stream"]["finish"] is True
    assert await wx_runtime.deliver_due() == 0  # answered inline, not sent again


@pytest.mark.sqlite_only
async def test_chatter_mention_gets_an_empty_answer_and_no_ticket(wx, counts, fake):
    response = await wx.bot_post(wx.group_mention("zhangsan", "早上好", "msg-2", fake_base=fake.base_url))
    assert response.status_code == 200 and response.text == ""
    assert counts()["tickets"] == 0 and counts()["inbox"] == 1


async def test_a_later_reply_to_the_group_uses_the_remembered_response_url(wx, wx_runtime, fake):
    await wx.bot_post(wx.group_mention("zhangsan", COMPLAINT, "msg-3", fake_base=fake.base_url))
    # The grid worker confirms from the WeCom app; the group hears it through msg-3's response_url.
    await wx.wecom_post(wx.wecom_text("liqiang", "确认 1", wx.new_msg_id()))
    await wx_runtime.deliver_due()
    [posted] = fake.sent("/response/msg-3")
    assert posted["json"]["msgtype"] == "markdown" and "#1" in posted["json"]["markdown"]["content"]


async def test_the_same_msgid_twice_makes_one_ticket(wx, counts, fake):
    payload = wx.group_mention("zhangsan", COMPLAINT, "msg-4", fake_base=fake.base_url)
    first, retry = await wx.bot_post(payload), await wx.bot_post(payload)
    assert counts()["tickets"] == 1 and counts()["inbox"] == 1
    assert shown(wx.bot_open_reply(first)) == shown(wx.bot_open_reply(retry))  # the retry gets the same answer
    assert "#1" in shown(wx.bot_open_reply(retry))


@pytest.mark.sqlite_only
async def test_url_verification_uses_an_empty_receive_id(wx, client):
    ts = str(int(time.time()))
    encrypt, sig = wx.bot.seal("echo-42", ts, "nn")
    ok = await client.get("/webhooks/wecom-bot", params={"msg_signature": sig, "timestamp": ts, "nonce": "nn", "echostr": encrypt})
    assert ok.status_code == 200 and ok.text == "echo-42"


@pytest.mark.sqlite_only
@pytest.mark.parametrize("case", ["wrong-signature", "replayed-timestamp", "not-json", "oversized", "bad-plaintext"])
async def test_refused_bot_callbacks_store_nothing(wx, client, counts, fake, case):
    payload = wx.group_mention("zhangsan", COMPLAINT, "msg-5", fake_base=fake.base_url)
    if case == "wrong-signature":
        response, status = await wx.bot_post(payload, msg_signature="0" * 40), 403
    elif case == "replayed-timestamp":
        response, status = await wx.bot_post(payload, ts=int(time.time()) - 3600), 403
    elif case == "not-json":
        response, status = await client.post("/webhooks/wecom-bot", params={"timestamp": str(int(time.time()))},
                                             content=b"<xml/>"), 400
    elif case == "oversized":
        payload["text"]["content"] = "漏水" * 40_000
        response, status = await wx.bot_post(payload), 413
    else:
        response, status = await wx.bot_post("not json inside"), 400
    assert response.status_code == status, response.text
    assert counts() == {"inbox": 0, "tickets": 0, "outbox": 0}
