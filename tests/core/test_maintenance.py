"""The maintenance job deletes exactly what has served its purpose (SQLite and PostgreSQL): expired
tokens, nonces, sessions and rate counters, and ignored chatter past the retention period, never a
pending row, a failed one, an answered one, or a message a ticket came from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bots.scheduler import Maintenance
from core import maintenance
from core.models import AccessToken, ConsoleAccount, ConsoleSession, InboxMessage, RateCounter, Ticket, TicketReporter, WebhookNonce
from core.taxonomy import Category, Urgency
from core.ticket_states import TicketState

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=30)
OLD = NOW - RETENTION - timedelta(hours=1)
RECENT = NOW - RETENTION + timedelta(hours=1)


def _inbox(key: str, status: str, received_at: datetime, chat: str = "telegram:-100") -> InboxMessage:
    return InboxMessage(dedup_key=f"{chat}:{key}", platform="telegram", chat_key=chat, sender_key="telegram:7",
                        text=key, status=status, received_at=received_at)


@pytest.fixture
def filled(engine):
    """One row of every kind, named after whether the purge must keep it."""
    with Session(engine) as s:
        account = ConsoleAccount(username="wang", password_hash="x", person_key="playground:wang")
        s.add(account)
        s.flush()
        s.add_all([
            AccessToken(key="gone:expired-two-days", token="t", expires_at=NOW - timedelta(days=2)),
            AccessToken(key="kept:expired-an-hour", token="t", expires_at=NOW - timedelta(hours=1)),
            AccessToken(key="kept:valid", token="t", expires_at=NOW + timedelta(hours=2)),
            WebhookNonce(key="gone:nonce", digest="d", expires_at=NOW - timedelta(seconds=1)),
            WebhookNonce(key="kept:nonce", digest="d", expires_at=NOW + timedelta(minutes=5)),
            ConsoleSession(token_hash="gone", account_id=account.id, created_at=NOW - timedelta(days=9),
                           expires_at=NOW - timedelta(days=1)),
            ConsoleSession(token_hash="kept", account_id=account.id, created_at=NOW, expires_at=NOW + timedelta(days=1)),
            RateCounter(key="gone:login", window_end=NOW - timedelta(seconds=1), count=3),
            RateCounter(key="kept:login", window_end=NOW + timedelta(seconds=30), count=1),
            _inbox("gone-old-chatter", "ignored", OLD),
            _inbox("gone-old-chatter-elsewhere", "ignored", OLD - timedelta(days=300), chat="wecom:room"),
            _inbox("kept-recent-chatter", "ignored", RECENT),
            _inbox("kept-received", "received", OLD),
            _inbox("kept-processing", "processing", OLD),
            _inbox("kept-failed", "failed", OLD),
            _inbox("kept-answered", "done", OLD),
            _inbox("kept-origin-of-a-ticket", "ignored", OLD),
            _inbox("kept-a-reporters-report", "ignored", OLD),
        ])
        ticket = Ticket(text="楼道灯坏了", category=Category.PROPERTY, urgency=Urgency.NORMAL, state=TicketState.PENDING,
                        chat_key="telegram:-100", origin_message_id="kept-origin-of-a-ticket", created_at=OLD)
        s.add(ticket)
        s.flush()
        s.add(TicketReporter(ticket_id=ticket.id, person_key="telegram:8", chat_key="telegram:-100",
                             message_id="kept-a-reporters-report"))
        s.commit()
    return engine


def _left(engine) -> dict[str, set[str]]:
    with Session(engine) as s:
        return {
            "access_tokens": set(s.exec(select(AccessToken.key))),
            "webhook_nonces": set(s.exec(select(WebhookNonce.key))),
            "console_sessions": set(s.exec(select(ConsoleSession.token_hash))),
            "rate_counters": set(s.exec(select(RateCounter.key))),
            "inbox": {t for t in s.exec(select(InboxMessage.text))},
        }


def test_the_purge_deletes_exactly_the_expired_rows_and_old_ignored_chatter(filled):
    before = _left(filled)
    report = maintenance.purge(filled, NOW, inbox_retention=RETENTION)
    after = _left(filled)
    for table, names in before.items():
        assert after[table] == {n for n in names if not n.startswith("gone")}, table
        assert report.deleted[table] == len(names - after[table]), table
    assert report.total == 6
    assert maintenance.purge(filled, NOW, inbox_retention=RETENTION).total == 0  # nothing left to do


def test_without_a_retention_period_the_inbox_is_kept_forever(filled):
    before = _left(filled)["inbox"]
    report = maintenance.purge(filled, NOW + timedelta(days=3650), inbox_retention=None)
    assert "inbox" not in report.deleted
    assert _left(filled)["inbox"] == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_purge_works_in_batches_larger_than_one(filled, monkeypatch):
    monkeypatch.setattr(maintenance, "BATCH", 1)
    assert maintenance.purge(filled, NOW, inbox_retention=RETENTION).deleted["inbox"] == 2
    assert {"gone-old-chatter", "gone-old-chatter-elsewhere"}.isdisjoint(_left(filled)["inbox"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_job_runs_at_most_once_an_hour(filled):
    clock = [NOW]
    job = Maintenance(filled, inbox_retention=RETENTION, clock=lambda: clock[0])
    assert job.run_if_due().total == 6
    clock[0] = NOW + timedelta(minutes=59)
    assert job.run_if_due() is None
    clock[0] = NOW + timedelta(hours=1)
    assert job.run_if_due() is not None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_scheduler_runs_the_maintenance_under_the_sweep_lock(settings, filled):
    from bots.runtime import Runtime

    settings = settings.model_copy(update={"inbox_retention_days": 30.0})
    rt = Runtime(settings, engine=filled, clock=lambda: NOW)
    rt.prepare()
    rt.scheduler.tick()
    assert "gone-old-chatter" not in _left(filled)["inbox"]
    assert "gone:expired-two-days" not in _left(filled)["access_tokens"]
