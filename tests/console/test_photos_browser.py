"""A resident's Telegram photo, fetched by the running worker, shown on the ticket page in Debian's Chromium."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlmodel import Session, select

from core.models import Ticket
from core.photos import Photo
from tests.photos.images import png
from tests.telegram.conftest import GROUP, SECRET, TOKEN, FakeBotAPI, Updates

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
COMPLAINT = "3栋楼道的井盖坏了，小孩差点掉下去"


def _wait_fetched(runtime, timeout: float = 20) -> Photo:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(runtime.engine) as s:
            row = s.exec(select(Photo)).first()
        if row is not None and row.state in ("fetched", "failed"):
            return row
        time.sleep(0.05)
    raise AssertionError("the photo worker did not fetch the photo in time")


def test_a_residents_telegram_photo_is_shown_on_the_ticket_page(console_with, serve_app, browser, tmp_path):
    fake = FakeBotAPI(files={"leak": png(48, 36, (200, 30, 30))})
    with serve_app(fake.app()) as bot_api, console_with(
            telegram_token=TOKEN, telegram_webhook_secret=SECRET, telegram_api_base=bot_api.url,
            run_photos=True, photos_poll_seconds=0.05) as console:
        updates = Updates()
        photo = [{"file_id": "leak", "file_unique_id": "uleak", "width": 48, "height": 36, "file_size": 300}]
        r = httpx.post(console.url + "/webhooks/telegram", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                       json=updates.update(message=updates.message(caption=COMPLAINT, photo=photo, chat_id=GROUP)))
        assert r.status_code == 200
        row = _wait_fetched(console.runtime)
        assert row.state == "fetched", row.last_error
        with Session(console.runtime.engine) as s:
            number = s.exec(select(Ticket.id)).one()

        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")  # a grid worker's phone
        try:
            page = context.new_page()
            console.sign_in(page, "wang")
            page.goto(f"{console.url}/console/tickets/{number}")
            img = page.wait_for_selector(f"#photos img[src='/console/tickets/{number}/photos/{row.id}']")
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img)
            assert img.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [48, 36]  # the real picture, decoded
            assert "现场照片" in page.locator("#photos").inner_text()
            assert img.bounding_box()["width"] <= 390
            page.screenshot(path=str(tmp_path / "ticket-photo-phone.png"), full_page=True)
        finally:
            context.close()
