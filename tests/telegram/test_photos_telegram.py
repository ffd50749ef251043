"""Telegram photos end to end: webhook → ticket → photo row → worker → getFile and /file/ on the fake Bot API → stored."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from bots import photos as bot_photos
from bots.photo_store import LocalStore
from core.models import Ticket, utcnow
from core.photos import Photo
from tests.photos.images import png
from tests.telegram.conftest import TOKEN

WORKER = 200000001  # 王芳, grid worker of the group's grid
COMPLAINT = "3栋楼道的井盖坏了，小孩差点掉下去"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _photos(runtime) -> list[Photo]:
    with Session(runtime.engine) as s:
        return list(s.exec(select(Photo).order_by(Photo.id)))


def _ticket(runtime) -> Ticket:
    with Session(runtime.engine) as s:
        (ticket,) = s.exec(select(Ticket)).all()
        return ticket


def sizes(*pairs: tuple[str, int, int, int]) -> list[dict]:
    """Telegram PhotoSize objects, smallest first: (file_id, width, height, file_size)."""
    return [{"file_id": f, "file_unique_id": f"u{f}", "width": w, "height": h, "file_size": n} for f, w, h, n in pairs]


async def fetch_all(runtime, *, clock=None) -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        worker = bot_photos.worker_for(runtime, client)
        if clock is not None:
            worker.clock = clock
        return await worker.run_once()


@pytest.fixture
def photo_settings(tg_settings):
    return tg_settings.model_copy(update={"run_photos": False})


async def test_a_residents_photo_with_a_caption_is_kept_with_the_ticket_it_opens_in_its_largest_acceptable_size(
        photo_settings, bot_api, updates, start_service):
    medium = png(40, 30)
    bot_api.files.update({"small": png(4, 3), "medium": medium})  # "large" is over the limit: never asked for
    photo = sizes(("small", 90, 67, 200), ("medium", 320, 240, len(medium)), ("large", 1280, 960, 50_000_000))
    async with start_service(photo_settings) as svc:
        assert (await svc.post_update(updates.update(message=updates.message(caption=COMPLAINT, photo=photo)))).status_code == 200
        (row,) = _photos(svc.runtime)
        assert (row.state, row.ticket_id, row.role) == ("pending", _ticket(svc.runtime).id, "report")
        assert await fetch_all(svc.runtime) == 1

    (row,) = _photos(svc.runtime)
    assert row.state == "fetched" and row.content_type == "image/png" and row.size == len(medium)
    assert row.sha256 == hashlib.sha256(medium).hexdigest()
    assert LocalStore(photo_settings.data_dir / "photos").get(row.sha256) == medium
    assert [c["file_id"] for c in bot_api.called("getFile")] == ["medium"]


async def test_a_photo_sent_right_after_the_words_joins_their_ticket_and_an_image_document_is_kept_too(
        photo_settings, bot_api, updates, start_service):
    bot_api.files.update({"leak": png(10, 10), "scan": png(12, 8)})
    document = {"file_id": "scan", "file_unique_id": "uscan", "file_name": "漏水.png", "mime_type": "image/png", "file_size": 300}
    async with start_service(photo_settings) as svc:
        await svc.post_update(updates.text(COMPLAINT))
        await svc.post_update(updates.update(message=updates.message(photo=sizes(("leak", 10, 10, 100)))))
        await svc.post_update(updates.update(message=updates.message(document=document)))
        assert await fetch_all(svc.runtime) == 2
    ticket = _ticket(svc.runtime)
    rows = _photos(svc.runtime)
    assert [(r.ticket_id, r.state, r.role) for r in rows] == [(ticket.id, "fetched", "report")] * 2


@SQLITE_ONLY
async def test_a_photo_before_the_words_waits_and_joins_the_ticket_they_open(photo_settings, bot_api, updates, start_service):
    bot_api.files["first"] = png()
    async with start_service(photo_settings) as svc:
        await svc.post_update(updates.update(message=updates.message(photo=sizes(("first", 8, 6, 100)))))
        (waiting,) = _photos(svc.runtime)
        assert waiting.ticket_id is None
        assert await fetch_all(svc.runtime) == 0  # nobody's ticket yet: not fetched
        await svc.post_update(updates.text(COMPLAINT))
        assert await fetch_all(svc.runtime) == 1
    (row,) = _photos(svc.runtime)
    assert row.ticket_id == _ticket(svc.runtime).id and row.state == "fetched"


async def test_a_download_answered_500_is_retried_later_and_then_kept(photo_settings, bot_api, updates, start_service):
    bot_api.files["p"] = png()
    bot_api.file_failures.append(500)
    async with start_service(photo_settings) as svc:
        await svc.post_update(updates.update(message=updates.message(caption=COMPLAINT, photo=sizes(("p", 8, 6, 100)))))
        assert await fetch_all(svc.runtime) == 1
        (row,) = _photos(svc.runtime)
        assert row.state == "pending" and row.attempts == 1 and "HTTP 500" in row.last_error
        assert TOKEN not in row.last_error and "/file/" not in row.last_error  # the console shows it: no token in it
        assert row.next_attempt_at > utcnow()
        assert await fetch_all(svc.runtime) == 0  # not due yet: backoff
        later = utcnow() + timedelta(minutes=1)
        assert await fetch_all(svc.runtime, clock=lambda: later) == 1
    (row,) = _photos(svc.runtime)
    assert row.state == "fetched" and row.attempts == 2 and row.last_error is None


@SQLITE_ONLY
async def test_a_too_big_file_and_a_file_that_is_not_an_image_are_refused_with_the_reason(
        photo_settings, bot_api, updates, start_service):
    bot_api.files.update({"big": png(padding=5000), "pdf": b"%PDF-1.4\n" + b"0" * 500})
    document = {"file_id": "pdf", "file_unique_id": "updf", "file_name": "x.png", "mime_type": "image/png", "file_size": 509}
    async with start_service(photo_settings.model_copy(update={"photos_max_bytes": 4000})) as svc:
        await svc.post_update(updates.update(message=updates.message(caption=COMPLAINT, photo=sizes(("big", 8, 6, 100)))))
        await svc.post_update(updates.update(message=updates.message(document=document)))
        assert await fetch_all(svc.runtime) == 2
    big, pdf = _photos(svc.runtime)
    assert big.state == "failed" and "too big" in big.last_error and big.attempts == 1
    assert pdf.state == "failed" and "not an image" in pdf.last_error
    assert not (photo_settings.data_dir / "photos").exists() or not any((photo_settings.data_dir / "photos").rglob("*"))


async def test_a_grid_workers_photo_with_and_right_after_banjie_is_the_result_photo(photo_settings, bot_api, updates, start_service):
    bot_api.files.update({"before": png(), "after": png(6, 6, (40, 160, 40)), "after2": png(5, 5)})
    worker_name = ("王", "芳")
    async with start_service(photo_settings) as svc:
        await svc.post_update(updates.update(message=updates.message(caption=COMPLAINT, photo=sizes(("before", 8, 6, 100)))))
        number = _ticket(svc.runtime).id
        await svc.post_update(updates.update(message=updates.message(
            caption=f"办结 {number} 井盖已换新", photo=sizes(("after", 6, 6, 100)), user_id=WORKER, name=worker_name)))
        await svc.post_update(updates.update(message=updates.message(
            photo=sizes(("after2", 5, 5, 100)), user_id=WORKER, name=worker_name)))
        assert await fetch_all(svc.runtime) == 3
    assert _ticket(svc.runtime).state.value == "resolved"
    assert [(r.ticket_id, r.role, r.state) for r in _photos(svc.runtime)] == [
        (number, "report", "fetched"), (number, "result", "fetched"), (number, "result", "fetched")]


@SQLITE_ONLY
async def test_a_later_photo_joins_a_ticket_only_as_a_reply_to_the_bots_message_about_it(photo_settings, bot_api, updates, start_service):
    bot_api.files.update({"late": png(), "reply": png(7, 7)})
    shift = [timedelta(0)]
    async with start_service(photo_settings, clock=lambda: utcnow() + shift[0]) as svc:
        await svc.post_update(updates.text(COMPLAINT))
        assert await svc.runtime.deliver_due() == 1
        (card,) = bot_api.sent()
        shift[0] = timedelta(minutes=30)  # long after the words
        await svc.post_update(updates.update(message=updates.message(photo=sizes(("late", 8, 6, 100)))))
        await svc.post_update(updates.update(message=updates.message(photo=sizes(("reply", 7, 7, 100)), reply_to=card)))
    late, reply = _photos(svc.runtime)
    assert late.ticket_id is None  # a stray picture is nobody's ticket
    assert reply.ticket_id == _ticket(svc.runtime).id
