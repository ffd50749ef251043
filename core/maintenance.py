"""Housekeeping: delete rows that have served their purpose, so tables stop growing forever.

What goes (:func:`purge`):

- expired platform access tokens (a day after they expired, as :mod:`core.access_tokens` keeps them),
  webhook nonces past their replay window, console sessions past their expiry, rate counters
  whose window has ended;
- inbox rows of **ignored chatter** (status ``ignored``: the bot said nothing) received more than
  the retention period ago (``LINLI_INBOX_RETENTION_DAYS``), unless the message is the origin of a
  ticket or a reporter's report (the console shows those in the ticket's conversation).

Never touched: inbox rows still pending (``received``/``processing``), ``failed`` ones (kept in
sight for a person to look at), ``done`` ones (the bot answered them: the console links them to
tickets), and everything in the outbox. Rows are deleted in batches of :data:`BATCH` so no
transaction holds the database for long.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core import db
from core.access_tokens import EXPIRED_KEPT
from core.db import rowcount, table_of
from core.inbox import writer_turn
from core.models import (
    AccessToken,
    ConsoleSession,
    InboxMessage,
    RateCounter,
    Ticket,
    TicketReporter,
    UTCDateTime,
    WebhookNonce,
)

BATCH = 2000
PURGED_STATUS = "ignored"


@dataclass
class PurgeReport:
    """How many rows each purge deleted, by table name."""

    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def _expired(now: datetime) -> dict[str, tuple[sa.Table, sa.ColumnElement[bool]]]:
    """Per table name, the table and the condition of a row that is no longer of any use at ``now``."""
    def due(table: sa.Table, column: str, cutoff: datetime) -> tuple[sa.Table, sa.ColumnElement[bool]]:
        return table, table.c[column] <= sa.literal(cutoff, UTCDateTime())

    return {
        "access_tokens": due(table_of(AccessToken), "expires_at", now - EXPIRED_KEPT),
        "webhook_nonces": due(table_of(WebhookNonce), "expires_at", now),
        "console_sessions": due(table_of(ConsoleSession), "expires_at", now),
        "rate_counters": due(table_of(RateCounter), "window_end", now),
    }


def old_chatter(now: datetime, retention: timedelta) -> sa.ColumnElement[bool]:
    """Inbox rows of ignored chatter older than ``retention`` that no ticket points to."""
    inbox, ticket, reporter = (table_of(model).c for model in (InboxMessage, Ticket, TicketReporter))
    origin_of_ticket = sa.exists().where(ticket.chat_key == inbox.chat_key,
                                         inbox.dedup_key == ticket.chat_key + ":" + ticket.origin_message_id)
    reported = sa.exists().where(reporter.chat_key == inbox.chat_key, reporter.message_id.is_not(None),
                                 inbox.dedup_key == reporter.chat_key + ":" + reporter.message_id)
    return sa.and_(inbox.status == PURGED_STATUS,
                   inbox.received_at < sa.literal(now - retention, UTCDateTime()),
                   ~origin_of_ticket, ~reported)


def _delete_in_batches(engine: Engine, table: sa.Table, key: sa.Column[object], where: sa.ColumnElement[bool]) -> int:
    deleted = 0
    while True:
        batch = sa.select(key).where(where).limit(BATCH).scalar_subquery()
        with writer_turn(engine), db.session_scope(engine) as session:
            count = rowcount(session.execute(sa.delete(table).where(key.in_(batch))))
        deleted += count
        if count < BATCH:
            return deleted


def purge(engine: Engine, now: datetime, *, inbox_retention: timedelta | None) -> PurgeReport:
    """Delete what has expired at ``now`` and ignored chatter older than ``inbox_retention``
    (None: keep the inbox forever). Safe to run at any time, on any instance, as often as you like."""
    report = PurgeReport()
    for name, (table, where) in _expired(now).items():
        key = next(iter(table.primary_key.columns))
        report.deleted[name] = _delete_in_batches(engine, table, key, where)
    if inbox_retention is not None:
        inbox = table_of(InboxMessage)
        report.deleted["inbox"] = _delete_in_batches(engine, inbox, inbox.c.id, old_chatter(now, inbox_retention))
    return report
