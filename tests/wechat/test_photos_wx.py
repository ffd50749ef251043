"""Photos from the Official Account (media/get with the access token) and the WeCom AI bot (encrypted image URLs)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from adapters.media import MediaError
from adapters.wecom_bot.media import wecom_bot_decrypt, wecom_bot_encrypt
from bots import photos as bot_photos
from bots.photo_store import LocalStore
from core.models import Ticket, utcnow
from core.photos import Photo
from tests.photos.images import png
from tests.wechat.conftest import BOT_AES_KEY, OA_AES_KEY

COMPLAINT = "3栋楼道的井盖坏了，小孩差点掉下去"


def _rows(runtime) -> list[Photo]:
    with Session(runtime.engine) as s:
        return list(s.exec(select(Photo).order_by(Photo.id)))


def _ticket(runtime) -> Ticket:
    with Session(runtime.engine) as s:
        return s.exec(select(Ticket)).one()


async def fetch_all(runtime, *, at=None) -> int:
    async with httpx.AsyncClient(timeout=10) as http:
        worker = bot_photos.worker_for(runtime, http)
        if at is not None:
            worker.clock = lambda: at
        return await worker.run_once()


def oa_image(media_id: str) -> str:
    return f"<PicUrl><![CDATA[http://mmbiz.example/{media_id}.jpg]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"


async def test_an_official_account_photo_after_a_complaint_is_fetched_by_media_get_with_the_access_token(wx, wx_runtime, fake):
    image = png(30, 20)
    fake.media["m-leak"] = image
    await wx.oa_post(wx.oa_text(COMPLAINT, wx.new_msg_id()))
    await wx.oa_post(wx.oa_text("", wx.new_msg_id(), kind="image", extra=oa_image("m-leak")))
    (row,) = _rows(wx_runtime)
    assert row.ticket_id == _ticket(wx_runtime).id and row.ref == "m-leak"
    assert await fetch_all(wx_runtime) == 1
    (row,) = _rows(wx_runtime)
    assert row.state == "fetched" and row.sha256 == hashlib.sha256(image).hexdigest()
    assert LocalStore(wx_runtime.settings.data_dir / "photos").get(row.sha256) == image
    (call,) = fake.sent("/cgi-bin/media/get")
    assert call["query"]["media_id"] == "m-leak" and call["query"]["access_token"] in fake.issued


@pytest.mark.sqlite_only
async def test_media_get_answered_500_is_retried_and_an_unknown_media_id_is_refused_with_the_errcode(wx, wx_runtime, fake):
    fake.media["m-ok"] = png()
    fake.file_failures.append(500)
    await wx.oa_post(wx.oa_text(COMPLAINT, wx.new_msg_id()))
    await wx.oa_post(wx.oa_text("", wx.new_msg_id(), kind="image", extra=oa_image("m-ok")))
    assert await fetch_all(wx_runtime) == 1
    (ok,) = _rows(wx_runtime)
    assert ok.state == "pending" and "HTTP 500" in ok.last_error
    await wx.oa_post(wx.oa_text("", wx.new_msg_id(), kind="image", extra=oa_image("m-gone")))
    assert await fetch_all(wx_runtime, at=utcnow() + timedelta(minutes=1)) == 2
    ok, gone = _rows(wx_runtime)
    assert ok.state == "fetched" and ok.attempts == 2
    assert gone.state == "failed" and "errcode 40007" in gone.last_error


async def test_an_ai_bot_mixed_message_gives_a_ticket_and_its_image_decrypted_with_the_bots_key(wx, wx_runtime, fake):
    image = png(16, 16, (10, 20, 200))
    fake.files["img-1"] = wecom_bot_encrypt(image, BOT_AES_KEY)
    payload = wx.group_mention("zhangsan", COMPLAINT, "msg-p1", fake_base=fake.base_url)
    payload.update(msgtype="mixed", text=None, mixed={"msg_item": [
        {"msgtype": "text", "text": {"content": f"@邻里助手 {COMPLAINT}"}},
        {"msgtype": "image", "image": {"url": f"{fake.base_url}/files/img-1"}}]})
    assert (await wx.bot_post(payload)).status_code == 200
    (row,) = _rows(wx_runtime)
    assert row.ticket_id == _ticket(wx_runtime).id and row.platform == "wecom-bot"
    assert await fetch_all(wx_runtime) == 1
    (row,) = _rows(wx_runtime)
    assert row.state == "fetched" and row.sha256 == hashlib.sha256(image).hexdigest() and row.content_type == "image/png"


@pytest.mark.sqlite_only
async def test_an_ai_bot_image_that_does_not_decrypt_with_the_bots_key_is_refused(wx, wx_runtime, fake):
    fake.files["img-2"] = wecom_bot_encrypt(png(), OA_AES_KEY)  # another key
    await wx.bot_post(wx.group_mention("zhangsan", COMPLAINT, "msg-p2", fake_base=fake.base_url))
    payload = wx.group_mention("zhangsan", "", "msg-p3", fake_base=fake.base_url)
    payload.update(msgtype="image", text=None, image={"url": f"{fake.base_url}/files/img-2"})
    await wx.bot_post(payload)
    assert await fetch_all(wx_runtime) == 1
    (row,) = _rows(wx_runtime)
    assert row.state == "failed" and row.last_error.startswith("refused:")


def test_ai_bot_file_decryption_round_trips_and_refuses_a_wrong_key():
    data = png(3, 3)
    sealed = wecom_bot_encrypt(data, BOT_AES_KEY)
    assert len(sealed) % 32 == 0 and sealed != data
    assert wecom_bot_decrypt(sealed, BOT_AES_KEY) == data
    with pytest.raises(MediaError):
        wecom_bot_decrypt(sealed[:-16] + bytes(16), BOT_AES_KEY)
