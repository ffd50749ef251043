"""WeChat Official Account over real HTTP: passive replies, dedup, refusals, customer-service updates."""

from __future__ import annotations

import base64
import time

import pytest
from sqlmodel import Session, select

from adapters.base import SignatureError
from adapters.wx_common import Envelope, check_signature, parse_xml
from core.models import OutboxMessage, Person, Ticket, TicketEvent

COMPLAINT = "3栋楼道的灯坏了好几天了，晚上很黑"  # names its building: no 「在哪个位置？」 follow-up


def test_the_official_plaintext_signature_sample_verifies():
    # From WeChat's "消息加解密说明": Token AAAAA, timestamp 1714037059, nonce 486452656.
    check_signature("899cf89e464efb63f54ddac96b0a0a235f53aa78", "AAAAA", "1714037059", "486452656")
    with pytest.raises(SignatureError):
        check_signature("899cf89e464efb63f54ddac96b0a0a235f53aa78", "AAAAB", "1714037059", "486452656")


@pytest.mark.sqlite_only
async def test_url_verification_echoes_echostr_only_with_a_valid_signature(wx, client):
    ok = await client.get("/webhooks/wechat", params={**wx.oa_query(), "echostr": "echo-123"})
    assert ok.status_code == 200 and ok.text == "echo-123"
    bad = await client.get("/webhooks/wechat", params={**wx.oa_query(), "echostr": "echo-123", "signature": "0" * 40})
    assert bad.status_code == 403


@pytest.mark.sqlite_only
@pytest.mark.parametrize("encrypted", [False, True], ids=["plaintext", "safe-mode"])
async def test_complaint_gets_a_passive_reply_with_the_ticket_number(wx, instance, wx_runtime, fake, encrypted):
    oa = wx if encrypted else await instance(wechat_aes_key=None)  # plaintext mode: no EncodingAESKey configured
    response = await oa.oa_post(wx.oa_text(COMPLAINT, wx.new_msg_id()), encrypted=encrypted)
    assert response.status_code == 200
    reply = wx.oa_open_reply(response.text) if encrypted else parse_xml(response.text)
    with Session(wx_runtime.engine) as session:
        ticket = session.exec(select(Ticket)).one()
        rows = session.exec(select(OutboxMessage)).all()
    assert f"#{ticket.id}" in reply["Content"]
    assert reply["ToUserName"] == "o-resident" and reply["MsgType"] == "text"
    assert ticket.chat_key == f"wechat:{wx.app_id}" and ticket.grid_id == "xingfu"
    assert [(r.status, r.platform_message_id) for r in rows] == [("sent", "passive")]
    assert await wx_runtime.deliver_due() == 0 and fake.sent("custom/send") == []  # never sent twice


@pytest.mark.sqlite_only
async def test_chatter_is_answered_with_success_and_makes_no_ticket(wx, counts):
    response = await wx.oa_post(wx.oa_text("早上好", wx.new_msg_id()))
    assert response.status_code == 200 and response.text == "success"
    assert counts()["tickets"] == 0 and counts()["inbox"] == 1


async def test_the_same_msgid_three_times_makes_one_ticket_and_the_same_answer(wx, counts):
    xml = wx.oa_text(COMPLAINT, wx.new_msg_id())
    answers = [await wx.oa_post(xml) for _ in range(3)]
    assert counts() == {"inbox": 1, "tickets": 1, "outbox": 1}
    contents = [wx.oa_reply(a)["Content"] for a in answers]
    assert contents[0] == contents[1] == contents[2] and "#" in contents[0]


@pytest.mark.sqlite_only
async def test_voice_uses_the_recognition_transcript(wx, wx_runtime):
    extra = "<MediaId><![CDATA[media-1]]></MediaId><Format><![CDATA[amr]]></Format>" \
            f"<Recognition><![CDATA[{COMPLAINT}]]></Recognition>"
    response = await wx.oa_post(wx.oa_text("", wx.new_msg_id(), kind="voice", extra=extra))
    assert "#" in wx.oa_reply(response)["Content"]
    with Session(wx_runtime.engine) as session:
        assert session.exec(select(Ticket)).one().text == COMPLAINT


@pytest.mark.sqlite_only
@pytest.mark.parametrize("kind,extra", [
    ("image", "<PicUrl><![CDATA[http://mmbiz.example/pic.jpg]]></PicUrl><MediaId><![CDATA[m2]]></MediaId>"),
    ("location", "<Location_X>39.9</Location_X><Location_Y>116.4</Location_Y><Scale>15</Scale><Label><![CDATA[幸福里3栋]]></Label>"),
])
async def test_images_and_locations_are_stored_without_a_ticket(wx, wx_runtime, counts, kind, extra):
    response = await wx.oa_post(wx.oa_text("", wx.new_msg_id(), kind=kind, extra=extra))
    assert response.text == "success"
    assert counts()["inbox"] == 1 and counts()["tickets"] == 0


@pytest.mark.sqlite_only
async def test_subscribe_event_is_welcomed_and_deduplicated_by_sender_and_time(wx, counts):
    created = int(time.time())
    xml = ("<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[o-new]]></FromUserName>"
           f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>")
    first, retry = await wx.oa_post(xml), await wx.oa_post(xml)
    assert "我住幸福小区" in wx.oa_reply(first)["Content"]
    assert wx.oa_reply(first)["Content"].count("邻里助手") == wx.oa_reply(retry)["Content"].count("邻里助手") == 1
    assert counts()["inbox"] == 1


async def test_a_resident_who_names_their_community_is_placed_in_its_grid(wx, wx_runtime):
    moved = await wx.oa_post(wx.oa_text("我住安乐小区", wx.new_msg_id()))
    assert "安乐社区" in wx.oa_reply(moved)["Content"]
    await wx.oa_post(wx.oa_text(COMPLAINT, wx.new_msg_id()))
    with Session(wx_runtime.engine) as session:
        assert session.exec(select(Person).where(Person.key == "wechat:o-resident")).one().grid_id == "anle"
        assert session.exec(select(Ticket)).one().grid_id == "anle"


@pytest.mark.sqlite_only
@pytest.mark.parametrize("case", ["wrong-signature", "replayed-timestamp", "malformed", "oversized", "xxe", "bad-aes"])
async def test_refused_callbacks_store_nothing(wx, counts, case):
    before = counts()
    xml = wx.oa_text(COMPLAINT, wx.new_msg_id())
    if case == "wrong-signature":
        response, status = await wx.oa_post(xml, signature="0" * 40), 403
    elif case == "replayed-timestamp":
        response, status = await wx.oa_post(xml, ts=int(time.time()) - 3600), 403
    elif case == "malformed":
        response, status = await wx.oa_post("<xml><FromUserName>o-resident</From"), 400
    elif case == "oversized":
        response, status = await wx.oa_post(wx.oa_text("漏水" * 40_000, wx.new_msg_id())), 413
    elif case == "xxe":
        evil = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                + xml.replace(COMPLAINT, "&xxe;"))
        response, status = await wx.oa_post(evil), 400
    else:  # encrypted with another key: the signature matches but decryption must fail
        params = wx.oa_query()
        other = Envelope(wx.oa.token, base64.b64encode(b"k" * 32).decode().rstrip("="), wx.app_id)
        encrypt, msg_sig = other.seal(xml, params["timestamp"], params["nonce"])
        body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        response, status = await wx.oa_post(body, encrypted=False, encrypt_type="aes", msg_signature=msg_sig,
                                             timestamp=params["timestamp"], nonce=params["nonce"],
                                             signature=params["signature"]), 400
    assert response.status_code == status, response.text
    assert counts() == before


@pytest.mark.sqlite_only
@pytest.mark.parametrize("encrypt_type", [None, "raw"])
async def test_a_captured_query_string_with_a_forged_plaintext_body_is_refused_in_safe_mode(wx, client, counts, encrypt_type):
    # The plaintext signature covers token, timestamp and nonce, not the body: someone who saw one
    # callback's query string (in a proxy's log, say) posts their own body, as another resident.
    captured, _ = wx.oa_callback(wx.oa_text("早上好", wx.new_msg_id()))
    query = {k: captured[k] for k in ("timestamp", "nonce", "signature", "openid")}
    if encrypt_type:
        query["encrypt_type"] = encrypt_type
    forged = wx.oa_text(COMPLAINT, wx.new_msg_id(), openid="o-victim")
    response = await client.post("/webhooks/wechat", params=query, content=forged.encode())
    assert response.status_code == 403 and "LINLI_WECHAT_AES_KEY" in response.text
    assert counts() == {"inbox": 0, "tickets": 0, "outbox": 0}


async def test_status_update_after_resolution_goes_through_customer_service_api(wx, wx_runtime, fake):
    await wx.oa_post(wx.oa_text(COMPLAINT, wx.new_msg_id()))
    for command in ("确认 1", "办结 1 灯已更换"):
        await wx.wecom_post(wx.wecom_text("chenshuji", command, wx.new_msg_id()))
    await wx_runtime.deliver_due()
    to_resident = fake.sent("custom/send")
    assert {c["json"]["touser"] for c in to_resident} == {"o-resident"}
    texts = [c["json"]["text"]["content"] for c in to_resident]
    assert any("#1" in t and "灯已更换" in t for t in texts), texts
    assert len(fake.sent("/cgi-bin/token")) == 1  # one token, cached and shared


async def test_45015_is_recorded_and_the_grid_worker_is_told_instead(wx, wx_runtime, fake):
    await wx.oa_post(wx.oa_text(COMPLAINT, wx.new_msg_id()))
    await wx.wecom_post(wx.wecom_text("chenshuji", "确认 1", wx.new_msg_id()))
    fake.fail_next("custom/send", 45015)
    await wx_runtime.deliver_due()
    with Session(wx_runtime.engine) as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.platform == "wechat",
                                                          OutboxMessage.status == "failed")).one()
        notes = session.exec(select(TicketEvent).where(TicketEvent.kind == "note")).all()
    assert "45015" in failed.last_error
    assert any("45015" in n.note for n in notes)
    await wx_runtime.deliver_due()
    to_worker = [c for c in fake.sent("/cgi-bin/message/send") if "无法通过" in c["json"]["text"]["content"]]
    assert [c["json"]["touser"] for c in to_worker] == ["chenshuji"]
    assert len(fake.sent("custom/send")) == 1  # not retried


async def test_a_revoked_access_token_is_refreshed_once(wx, wx_runtime, fake):
    await wx.oa_post(wx.oa_text(COMPLAINT, wx.new_msg_id()))
    await wx.wecom_post(wx.wecom_text("chenshuji", "确认 1", wx.new_msg_id()))
    await wx_runtime.deliver_due()
    sends_before = len(fake.sent("custom/send"))
    fake.revoke_tokens()
    await wx.wecom_post(wx.wecom_text("chenshuji", "办结 1 已修好", wx.new_msg_id()))
    await wx_runtime.deliver_due()
    after = fake.sent("custom/send")[sends_before:]
    assert after[0]["query"]["access_token"] != after[1]["query"]["access_token"]  # 40001, then a new token
    assert any("已修好" in c["json"]["text"]["content"] for c in after[1:])
    assert len(fake.sent("/cgi-bin/token")) == 2
    with Session(wx_runtime.engine) as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.status != "sent")).all() == []
