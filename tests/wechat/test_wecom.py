"""WeCom self-built app: the official sample vectors, grid-worker commands over HTTP, message/send and appchat."""

from __future__ import annotations

import time

import pytest

from adapters.base import MalformedPayload, SignatureError
from adapters.wecom.adapter import WeComCallbacks, WeComConfig
from adapters.wx_common import Envelope
from core.message import OutgoingReply

# The sample from WeCom's callback documentation (加解密方案说明 / WXBizMsgCrypt samples).
SAMPLE = WeComConfig(corp_id="wx5823bf96d3bd56c7", token="QDG6eK", aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
SAMPLE_ECHO = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589", "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
}
SAMPLE_POST_QUERY = {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813", "nonce": "1372623149"}
SAMPLE_POST_BODY = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA["
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUk"
    "SUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekU"
    "NXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUP"
    "A3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
    "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
)


def test_the_official_url_verification_sample_decrypts_to_its_echo():
    callbacks = WeComCallbacks(SAMPLE, clock=lambda: 1409659589)
    assert callbacks.verify_url(SAMPLE_ECHO) == "1616140317555161061"


def test_the_official_message_sample_becomes_a_wecom_message():
    message = WeComCallbacks(SAMPLE, clock=lambda: 1409659813).parse(SAMPLE_POST_QUERY, SAMPLE_POST_BODY.encode())
    assert (message.platform, message.chat_id, message.sender_id, message.is_group) == ("wecom", "mycreate", "mycreate", False)
    assert message.text == "hello" and message.message_id == "4561255354251345929"


def test_the_official_sample_is_refused_long_after_its_timestamp():
    with pytest.raises(SignatureError, match="replay"):
        WeComCallbacks(SAMPLE).parse(SAMPLE_POST_QUERY, SAMPLE_POST_BODY.encode())


def test_a_doctype_inside_the_encrypted_payload_is_refused():
    envelope = Envelope(SAMPLE.token, SAMPLE.aes_key, SAMPLE.corp_id)
    inner = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>'
    encrypt, sig = envelope.seal(inner, "1409659813", "n")
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    with pytest.raises(MalformedPayload, match="DOCTYPE"):
        WeComCallbacks(SAMPLE, clock=lambda: 1409659813).parse({"msg_signature": sig, "timestamp": "1409659813", "nonce": "n"}, body)


@pytest.mark.sqlite_only
async def test_url_verification_over_http(wx, client):
    ts = str(int(time.time()))
    encrypt, sig = wx.wecom.seal("4125683953", ts, "nn")
    ok = await client.get("/webhooks/wecom", params={"msg_signature": sig, "timestamp": ts, "nonce": "nn", "echostr": encrypt})
    assert ok.status_code == 200 and ok.text == "4125683953"
    bad = await client.get("/webhooks/wecom", params={"msg_signature": "f" * 40, "timestamp": ts, "nonce": "nn", "echostr": encrypt})
    assert bad.status_code == 403


async def test_a_grid_worker_command_is_answered_through_message_send(wx, wx_runtime, fake):
    response = await wx.wecom_post(wx.wecom_text("wangfang", "查询 99", wx.new_msg_id()))
    assert response.status_code == 200 and response.text == ""
    await wx_runtime.deliver_due()
    [sent] = fake.sent("/cgi-bin/message/send")
    assert sent["json"]["touser"] == "wangfang" and sent["json"]["agentid"] == 1000002
    assert "#99" in sent["json"]["text"]["content"]
    assert fake.sent("/cgi-bin/gettoken")[0]["query"] == {"corpid": wx.corp_id, "corpsecret": "wecom-secret"}


@pytest.mark.sqlite_only
async def test_an_unknown_member_is_stored_but_not_answered(wx, wx_runtime, counts, fake):
    await wx.wecom_post(wx.wecom_text("stranger", "查询 1", wx.new_msg_id()))
    await wx_runtime.deliver_due()
    assert counts()["inbox"] == 1 and counts()["outbox"] == 0


@pytest.mark.sqlite_only
@pytest.mark.parametrize("case", ["wrong-signature", "replayed-timestamp", "plaintext", "not-xml"])
async def test_refused_wecom_callbacks_store_nothing(wx, client, counts, case):
    inner = wx.wecom_text("wangfang", "查询 1", wx.new_msg_id())
    if case == "wrong-signature":
        response = await wx.wecom_post(inner, msg_signature="0" * 40)
    elif case == "replayed-timestamp":
        response = await wx.wecom_post(inner, ts=int(time.time()) - 3600)
    elif case == "plaintext":  # a captured signed query with the message in the clear: the app is always in safe mode
        query, _ = wx.wecom_callback(inner)
        response = await client.post("/webhooks/wecom", params=query, content=inner.encode())
    else:
        response = await client.post("/webhooks/wecom", params={"msg_signature": "x", "timestamp": str(int(time.time())),
                                                                "nonce": "n"}, content=b"{not xml")
    assert response.status_code == (400 if case in ("plaintext", "not-xml") else 403)
    assert counts() == {"inbox": 0, "tickets": 0, "outbox": 0}


@pytest.mark.sqlite_only
async def test_replies_to_an_app_group_chat_use_appchat_send(client, wx_runtime, fake):
    adapter = wx_runtime.adapters["wecom"]
    await adapter.deliver(OutgoingReply(platform="wecom", chat_id="grid-workers", text="#3 已超时，请处理"))
    [sent] = fake.sent("/cgi-bin/appchat/send")
    assert sent["json"] == {"chatid": "grid-workers", "msgtype": "text", "text": {"content": "#3 已超时，请处理"}}
