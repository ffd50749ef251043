"""The photo queue: one fetcher per photo, crash-safe leases, content checks, and the S3-compatible store."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from adapters.telegram.media import telegram_fetcher
from bots.photo_store import LocalStore, S3Store
from bots.photos import PhotoWorker
from core import db, photos
from core.models import Ticket, utcnow
from core.photos import Photo, Refused, check_content, sniff
from tests.conftest import free_port, run_at_once
from tests.photos.images import GIF, png
from tests.telegram.conftest import TOKEN, FakeBotAPI

LEAK = "3栋楼上漏水到我家，沟通无效，怎么办？"


def _ticket(runtime, make_message) -> int:
    runtime.ingest_sync(make_message(LEAK))
    with Session(runtime.engine) as s:
        return s.exec(select(Ticket.id)).one()


def _pending(runtime, ticket_id: int, n: int, *, platform: str = "telegram", refs: list[str] | None = None) -> list[int]:
    with db.session_scope(runtime.engine) as s:
        rows = [photos.record(s, platform=platform, chat_key="playground:demo", sender_key="playground:zhang",
                              message_id=f"m{i}", refs=[(refs or [f"f{i}"] * n)[i]], ticket_id=ticket_id)[0] for i in range(n)]
        s.flush()
        return [r.id for r in rows]


def test_concurrent_workers_claim_each_photo_exactly_once(runtime, make_message):
    ids = _pending(runtime, _ticket(runtime, make_message), 24)

    def claimer():
        got = []
        with Session(runtime.engine, expire_on_commit=False) as s:
            while batch := photos.claim_due(s, limit=5):
                got += [p.id for p in batch]
        return got

    results = run_at_once(claimer, claimer, claimer, claimer)
    claimed = [i for r in results for i in r]
    assert sorted(claimed) == sorted(ids)  # every photo claimed, none twice
    with Session(runtime.engine) as s:
        assert {(p.state, p.attempts) for p in s.exec(select(Photo))} == {("fetching", 1)}


def test_a_photo_whose_fetcher_died_is_fetched_again_after_its_lease_and_never_lost(runtime, make_message):
    (photo_id,) = _pending(runtime, _ticket(runtime, make_message), 1)
    t0 = utcnow()
    with Session(runtime.engine, expire_on_commit=False) as s:
        assert [p.id for p in photos.claim_due(s, now=t0)] == [photo_id]  # ... and the process dies here
        assert photos.claim_due(s, now=t0 + photos.LEASE / 2) == []  # still leased to the dead one
        (again,) = photos.claim_due(s, now=t0 + photos.LEASE + timedelta(seconds=1))
    assert again.id == photo_id and again.attempts == 2
    with Session(runtime.engine) as s:
        # the dead fetcher's late report cannot overwrite the new lease
        stale = s.get(Photo, photo_id).model_copy(update={"attempts": 1})
        assert photos.mark_fetched(s, stale, sha256="0" * 64, content_type="image/png", size=1) is False
        assert photos.mark_fetched(s, again, sha256="1" * 64, content_type="image/png", size=1) is True


def test_a_retryable_failure_backs_off_and_gives_up_after_the_last_attempt_with_the_reason(runtime, make_message):
    (photo_id,) = _pending(runtime, _ticket(runtime, make_message), 1)
    now = utcnow()
    with Session(runtime.engine, expire_on_commit=False) as s:
        for attempt in range(1, photos.MAX_ATTEMPTS + 1):
            (row,) = photos.claim_due(s, now=now)
            state = photos.mark_failed(s, row, "HTTP 502", retryable=True, now=now)
            now = s.get(Photo, photo_id).next_attempt_at
            assert state == ("failed" if attempt == photos.MAX_ATTEMPTS else "pending")
        assert photos.claim_due(s, now=now + timedelta(days=1)) == []
        row = s.get(Photo, photo_id)
        assert row.last_error == "gave up: HTTP 502" and [p.id for p in photos.failed(s)] == [photo_id]
        assert photos.retry(s, photo_id) and s.get(Photo, photo_id).state == "pending"  # an admin's 重试


@pytest.mark.parametrize("head,kind", [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"), (png()[:16], "image/png"), (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    (GIF[:16], "image/gif"), (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"), (b"\x00\x00\x00\x18ftypmif1\x00\x00", "image/heic"),
    (b"%PDF-1.7", None), (b"<svg xmlns=", None), (b"<html><script>", None), (b"PK\x03\x04", None), (b"\x00\x00\x00\x18ftypmp42", None),
])
def test_content_type_comes_from_the_first_bytes(head, kind):
    assert sniff(head) == kind


def test_too_big_and_empty_content_is_refused_with_a_reason_that_names_the_limit():
    assert check_content(GIF, 100) == "image/gif"
    with pytest.raises(Refused, match="LINLI_PHOTOS_MAX_BYTES"):
        check_content(png(padding=500), 100)
    with pytest.raises(Refused, match="empty"):
        check_content(b"", 100)


def test_the_local_store_is_content_addressed_and_refuses_a_path_for_anything_but_a_digest(tmp_path):
    store = LocalStore(tmp_path)
    digest = store.put(GIF, "image/gif")
    assert store.put(GIF, "image/gif") == digest and store.get(digest) == GIF
    assert store.path_of(digest).relative_to(tmp_path).parts[:2] == (digest[:2], digest[2:4])
    assert len(list(tmp_path.rglob("*"))) == 3  # two directories and one file: no temporary leftovers
    with pytest.raises(ValueError):
        store.get("../../etc/passwd")


@pytest.fixture(scope="module")
def s3_url():
    """moto's S3 in server mode: a real HTTP endpoint on loopback, as MinIO or a cloud bucket would be."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_worker_stores_into_an_s3_compatible_bucket_when_one_is_configured(runtime, make_message, serve_app, s3_url):
    import boto3

    boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", aws_access_key_id="k",
                 aws_secret_access_key="s").create_bucket(Bucket="linli-photos")
    store = S3Store("linli-photos", endpoint=s3_url, region="us-east-1", access_key="k", secret_key="s")
    image = png(20, 20)
    fake = FakeBotAPI(files={"leak": image})
    (photo_id,) = _pending(runtime, _ticket(runtime, make_message), 1, refs=["leak"])
    with serve_app(fake.app()) as server:
        async with httpx.AsyncClient(timeout=10) as client:
            worker = PhotoWorker(runtime.engine, store, {"telegram": telegram_fetcher(client, TOKEN, server.url)},
                                 max_bytes=1_000_000)
            assert await worker.run_once() == 1
    with Session(runtime.engine) as s:
        row = s.get(Photo, photo_id)
    assert row.state == "fetched" and store.get(row.sha256) == image
    assert store.get("0" * 64) is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_metrics_count_photos_waiting_and_given_up_on(runtime, make_message):
    from bots import metrics

    first, second = _pending(runtime, _ticket(runtime, make_message), 2)
    with Session(runtime.engine, expire_on_commit=False) as s:
        row = next(p for p in photos.claim_due(s) if p.id == second)
        photos.mark_failed(s, row, "not an image", retryable=False)
    text = metrics.render(runtime.engine)
    assert 'linli_photos{platform="telegram",state="fetching"} 1' in text
    assert 'linli_photos{platform="telegram",state="failed"} 1' in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_reference_too_long_to_keep_is_recorded_as_failed_not_cut_and_fetched(runtime, make_message):
    number = _ticket(runtime, make_message)
    with db.session_scope(runtime.engine) as s:
        (row,) = photos.record(s, platform="wecom-bot", chat_key="playground:demo", sender_key="playground:zhang",
                               message_id="long", refs=["https://example.invalid/" + "a" * 3000], ticket_id=number)
    with Session(runtime.engine) as s:
        assert photos.claim_due(s) == []
        (kept,) = photos.failed(s)
        assert "over 2000 characters" in kept.last_error
