"""Chat-archive bookkeeping (WeCom 会话内容存档): the pull cursor, kept bad or skipped records,
residents' consent, and the answers waiting for a person to post them in a customer group.

Platform-neutral: the adapter turns records into the items below; :func:`commit_batch`
stores one pulled batch in ONE transaction — the inbox rows, the kept records, the consent
changes and the cursor — so a crash at any point either stores the whole batch and its new
cursor or nothing (the batch is pulled again), never a message twice or a record lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core import inbox
from core.db import table_of
from core.grids import Role, ancestors
from core.message import Message
from core.models import ArchiveAnswer, ArchiveConsent, ArchiveCursor, ArchiveRecord, Chat, Person, utcnow

# -- what a pulled record becomes ------------------------------------------------------------


@dataclass(frozen=True)
class Said:
    """A group message for the inbox. ``needs_consent``: from a resident (an external contact)."""

    message: Message
    needs_consent: bool


@dataclass(frozen=True)
class ConsentChange:
    user_id: str
    agreed: bool
    at: datetime
    msgid: str


@dataclass(frozen=True)
class Kept:
    """A record kept with its reason (see :class:`ArchiveRecord`)."""

    msgid: str
    kind: str
    reason: str
    publickey_ver: int | None = None
    chat_key: str | None = None
    sender: str | None = None
    record: dict[str, Any] = field(default_factory=dict[str, Any])


Item = Said | ConsentChange | Kept


@dataclass
class BatchResult:
    """What :func:`commit_batch` stored; ``inbox_ids`` are the new inbox rows to process."""

    inbox_ids: list[int] = field(default_factory=list)
    kept: int = 0
    skipped_consent: int = 0
    consent_changes: int = 0
    posted: int = 0


def cursor(session: Session, source: str) -> int:
    row = session.get(ArchiveCursor, source)
    return row.seq if row else 0


def _insert_ignore(session: Session, table: sa.Table, values: list[dict[str, Any]], key: str) -> None:
    if not values:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.connection().execute(insert(table).on_conflict_do_nothing(index_elements=[table.c[key]]), values)


def _consents(session: Session, users: set[str]) -> dict[str, bool]:
    if not users:
        return {}
    return dict(session.execute(select(ArchiveConsent.user_id, ArchiveConsent.agreed)
                                .where(col(ArchiveConsent.user_id).in_(users))).all())


def _mark_posted(session: Session, message: Message, now: datetime) -> bool:
    """A member posting (or confirming the 企业群发 of) a waiting answer: mark it posted."""
    text = message.text.strip()
    if not text:
        return False
    answer = session.exec(select(ArchiveAnswer).where(
        ArchiveAnswer.chat_key == message.chat_key, ArchiveAnswer.status == "waiting", ArchiveAnswer.text == text)
        .order_by(col(ArchiveAnswer.id)).limit(1)).first()
    if answer is None:
        return False
    answer.status, answer.posted_at, answer.posted_msgid = "posted", now, message.message_id
    session.add(answer)
    return True


def commit_batch(session: Session, source: str, items: list[tuple[int, Item]], last_seq: int, *,
                 require_consent: bool, retried: frozenset[str] = frozenset()) -> BatchResult:
    """Store one pulled batch (``(seq, item)`` in seq order) and move the cursor to ``last_seq``,
    in one transaction. Commits.

    ``retried``: msgids of kept bad records read again (:func:`bad_records_to_retry`); their
    old rows are replaced by what they are now, in the same transaction.

    Consent is decided in order: an 「同意」 earlier in the batch counts for the messages after
    it. A resident without a recorded 「同意」 is kept as ``skipped`` (no content) when
    ``require_consent``. A member's message that is a waiting answer being posted marks it
    posted and does not reach the bot (it is the bot's own words)."""
    now = utcnow()
    result = BatchResult()
    with inbox.writer_turn(session):
        consent = _consents(session, {i.message.sender_id for _, i in items if isinstance(i, Said) and i.needs_consent})
        messages: list[Message] = []
        kept: list[dict[str, Any]] = []
        for seq, item in items:
            if isinstance(item, ConsentChange):
                row = session.get(ArchiveConsent, item.user_id)
                if row is None or row.changed_at <= item.at:
                    row = row or ArchiveConsent(user_id=item.user_id, agreed=item.agreed, changed_at=item.at, msgid=item.msgid)
                    row.agreed, row.changed_at, row.msgid = item.agreed, item.at, item.msgid
                    session.add(row)
                    session.flush()
                    consent[item.user_id] = item.agreed
                result.consent_changes += 1
            elif isinstance(item, Kept):
                kept.append({"msgid": item.msgid, "seq": seq, "kind": item.kind, "reason": item.reason[:500],
                             "publickey_ver": item.publickey_ver, "chat_key": item.chat_key, "sender": item.sender,
                             "record": item.record, "created_at": now})
            elif item.needs_consent and require_consent and not consent.get(item.message.sender_id):
                state = "disagreed" if item.message.sender_id in consent else "no consent recorded"
                kept.append({"msgid": item.message.message_id, "seq": seq, "kind": "skipped",
                             "reason": f"{state} (同意会话聊天内容): not processed", "publickey_ver": None,
                             "chat_key": item.message.chat_key, "sender": item.message.sender_id, "record": {},
                             "created_at": now})
                result.skipped_consent += 1
            elif not item.needs_consent and _mark_posted(session, item.message, now):
                result.posted += 1
            else:
                messages.append(item.message)
        if retried:
            session.execute(sa.delete(ArchiveRecord).where(col(ArchiveRecord.msgid).in_(sorted(retried))))
        _insert_ignore(session, table_of(ArchiveRecord), kept, "msgid")
        result.kept = len(kept)
        new = inbox.add_many(session, messages)
        result.inbox_ids = [new[k] for k in (inbox.dedup_key(m) for m in messages) if k in new]
        cursor = session.get(ArchiveCursor, source) or ArchiveCursor(source=source)
        cursor.seq, cursor.updated_at = max(cursor.seq, last_seq), now
        session.add(cursor)
        session.commit()
    return result


# -- answers waiting for a person --------------------------------------------------------------


def record_answer(session: Session, *, chat_key: str, group_title: str, text: str, owners: list[str], via: str) -> None:
    """Remember an answer handed to the group's owner. Commits."""
    session.add(ArchiveAnswer(chat_key=chat_key, group_title=group_title, text=text.strip(), owners="|".join(owners), via=via))
    session.commit()


def mass_messages_since(session: Session, chat_key: str, since: datetime) -> int:
    """How many 企业群发 were submitted to this group since ``since``."""
    return session.exec(select(sa.func.count()).select_from(ArchiveAnswer).where(
        ArchiveAnswer.chat_key == chat_key, ArchiveAnswer.via == "mass", ArchiveAnswer.relayed_at >= since)).one()


def waiting_answers(session: Session, *, limit: int = 100) -> list[ArchiveAnswer]:
    """Answers not yet seen posted in their group, oldest first."""
    return list(session.exec(select(ArchiveAnswer).where(ArchiveAnswer.status == "waiting")
                             .order_by(col(ArchiveAnswer.id)).limit(limit)))


def bad_records_to_retry(session: Session, versions: list[int], *, limit: int = 1000) -> list[ArchiveRecord]:
    """Bad records kept with their encrypted record whose key version is now known (a key added
    after they arrived), oldest first."""
    return list(session.exec(select(ArchiveRecord).where(ArchiveRecord.kind == "bad", col(ArchiveRecord.publickey_ver).in_(versions))
                             .order_by(col(ArchiveRecord.seq)).limit(limit)))


def kept_records(session: Session, *, kind: str | None = None, limit: int = 100) -> list[ArchiveRecord]:
    q = select(ArchiveRecord)
    if kind:
        q = q.where(ArchiveRecord.kind == kind)
    return list(session.exec(q.order_by(col(ArchiveRecord.seq).desc()).limit(limit)))


# -- who is who -------------------------------------------------------------------------------


def link_members(session: Session, *, source: str, target: str, explicit: frozenset[str] = frozenset()) -> int:
    """Give every declared person with a ``source:<userid>`` account the same identity as
    ``target:<userid>`` (a WeCom member's userid is the same in the app and in the archive),
    so grid workers are recognised in customer groups without listing the account twice.
    Accounts the grids file declares itself (``explicit``) are left as declared. Returns how
    many were linked."""
    declared = list(session.exec(select(Person).where(Person.key.startswith(f"{source}:"), Person.declared)))
    linked = 0
    for person in declared:
        key = f"{target}:{person.key.split(':', 1)[1]}"
        if key in explicit:
            continue
        row = session.exec(select(Person).where(Person.key == key)).first() or Person(key=key)
        row.name, row.role, row.grid_id, row.phone, row.declared = person.name, person.role, person.grid_id, person.phone, True
        session.add(row)
        linked += 1
    session.flush()
    return linked


def group_owners(session: Session, chat_key: str, *, platform: str) -> tuple[str, list[str]] | None:
    """A group's title and the userids (on ``platform``) of the grid workers nearest to its grid
    who have an account there; None for a chat not bound to a grid."""
    chat = session.get(Chat, chat_key)
    if chat is None or chat.grid_id is None:
        return None
    for grid in ancestors(session, chat.grid_id):
        keys = session.exec(select(Person.key).where(Person.grid_id == grid.id, Person.role == Role.GRID_WORKER.value,
                                                     col(Person.key).startswith(f"{platform}:")).order_by(col(Person.id))).all()
        if keys:
            return chat.title or chat.chat_id, [k.split(":", 1)[1] for k in keys]
    return chat.title or chat.chat_id, []
