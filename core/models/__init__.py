"""Database tables (SQLModel), one module per area; importing ``core.models`` registers all of them.

Schema changes go through Alembic migrations in core/migrations. A new table goes in the module
of its area here (or a new one, added to the imports below); table modules import only
``core.models.base`` and each other, never the domain modules that use them, so nothing here
imports in a cycle (tests/web/test_import_cycles.py holds that).
"""

from core.models.archive import ArchiveAnswer, ArchiveConsent, ArchiveCursor, ArchiveRecord
from core.models.base import StrEnumColumn, UTCDateTime, created_column, time_column, utcnow
from core.models.console import ApiToken, ConsoleAccount, ConsoleSession, RateCounter
from core.models.credentials import AccessToken
from core.models.dialogue import PendingQuestion, QuestionKind
from core.models.messages import InboxMessage, OutboxMessage
from core.models.nonces import WebhookNonce
from core.models.notices import Notice, NoticeChat
from core.models.photos import Photo
from core.models.tickets import (
    OPEN_STATES_SQL,
    SWEEP_NOW,
    Chat,
    Grid,
    Person,
    SweepBasis,
    Ticket,
    TicketEvent,
    TicketReporter,
    open_states_clause,
)

__all__ = [
    "AccessToken", "ApiToken", "ArchiveAnswer", "ArchiveConsent", "ArchiveCursor", "ArchiveRecord", "Chat", "ConsoleAccount",
    "ConsoleSession", "Grid", "InboxMessage", "Notice", "NoticeChat", "OPEN_STATES_SQL", "OutboxMessage", "PendingQuestion", "Photo",
    "Person", "QuestionKind", "RateCounter", "StrEnumColumn", "SWEEP_NOW", "SweepBasis", "Ticket", "TicketEvent",
    "TicketReporter", "UTCDateTime", "WebhookNonce", "created_column", "open_states_clause", "time_column", "utcnow",
]
