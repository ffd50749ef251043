"""Wires WeCom customer groups through the chat archive (会话内容存档): the puller, the event
callback ``GET|POST /webhooks/wecom-archive`` and the relay of answers to the group owners.

Imported only when LINLI_WECOM_ARCHIVE_SECRET and LINLI_WECOM_ARCHIVE_PRIVATE_KEYS are set
(the Finance SDK is loaded on the first pull, never otherwise).

Pulling: every instance runs the loop, a database lock lets exactly one pull (the sweeper's
lock mechanism with its own key). It pulls when the archive's callback announces new records
and every LINLI_WECOM_ARCHIVE_PULL_INTERVAL_SECONDS as a fallback, batch after batch from the
stored ``seq``. Each batch is decrypted, parsed and committed in one transaction with the new
cursor (core.archive.commit_batch); the new inbox rows are then processed like any channel's
(a crash in between leaves them to the inbox recovery). With several instances, a callback
that lands on an instance not holding the lock only wakes that instance, so the next pull
happens at the puller's own interval.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from adapters.base import Host, InboundError, Route, Wiring
from adapters.wecom import DEFAULT_API_BASE
from adapters.wecom_archive import PLATFORM
from adapters.wecom_archive.callback import ArchiveCallbacks
from adapters.wecom_archive.records import NEUTRAL_NAME, BadRecord, Dropped, parse
from adapters.wecom_archive.relay import ArchiveRelay, GroupOwner, HandedOver
from adapters.wecom_archive.source import ArchiveError, ArchiveSource, EncryptedRecord, PrivateKeys, RecordError, open_record
from adapters.wx_http import query_of, refused, url_verification
from core import archive, db
from core.grids import read_grids_file

log = logging.getLogger("linli.wecom_archive")

PATH = "/webhooks/wecom-archive"
MAX_BATCHES_PER_PULL = 50  # then the loop yields; the next round goes on from the stored cursor
APP_PLATFORM = "wecom"  # grid workers are reached through the WeCom app


@dataclass
class PullReport:
    """What one pull did."""

    records: int = 0
    stored: int = 0
    kept: int = 0
    skipped_consent: int = 0
    consent_changes: int = 0
    posted: int = 0
    ignored: int = 0
    seq: int = 0
    error: str | None = None
    inbox_ids: list[int] = field(default_factory=list)


class ArchiveChannel:
    """One archive (one corp): pulls, decrypts, parses and stores; relays answers."""

    def __init__(self, host: Host, source: ArchiveSource | None = None):
        settings = host.settings
        self.host = host
        self.settings = settings
        self.corp_id = settings.wecom_archive_corp_id or settings.wecom_corp_id
        if not self.corp_id:
            raise ValueError("LINLI_WECOM_ARCHIVE_CORP_ID (or LINLI_WECOM_CORP_ID) is needed for the chat archive")
        self.keys = PrivateKeys.load(settings.wecom_archive_private_keys)
        # The SDK is created now, at mount time: it must load before OpenCC does (see adapters.wecom_archive.sdk).
        self.source = source or self.make_source()
        self.lock = host.singleton_lock("wecom-archive")
        self.names = self._names()
        self.wakeup = asyncio.Event()
        self._busy = threading.Lock()
        self._retried = False
        self._task: asyncio.Task | None = None
        self.last_report: PullReport | None = None

    def _names(self):
        if not self.settings.wecom_archive_contact_secret:
            return lambda _user: NEUTRAL_NAME
        from adapters.wecom_archive.contacts import ContactNames

        api_base = (self.settings.wecom_api_base or DEFAULT_API_BASE).rstrip("/")
        return ContactNames(self.corp_id, self.settings.wecom_archive_contact_secret, api_base)

    def make_source(self) -> ArchiveSource:
        from adapters.wecom_archive.sdk import SdkArchive

        s = self.settings
        return SdkArchive(self.corp_id, s.wecom_archive_secret, proxy=s.wecom_archive_proxy or "",
                          proxy_password=s.wecom_archive_proxy_password or "", timeout=s.wecom_archive_timeout_seconds)

    # -- pulling ----------------------------------------------------------------------------

    def item(self, record: EncryptedRecord) -> archive.Item | None:
        """What one record becomes; never raises (a bad record is kept with the reason)."""
        def bad(reason: str) -> archive.Kept:
            return archive.Kept(record.msgid, "bad", reason, record.publickey_ver, record=record.as_dict())

        try:
            outcome = parse(open_record(self.source, self.keys, record), self.names)
        except RecordError as exc:
            return bad(exc.reason)
        except BadRecord as exc:
            return bad(f"malformed record: {exc}")
        except Exception as exc:  # a record must never stop the pull; its content stays out of the log
            log.error("archive record seq %s could not be read: %s", record.seq, type(exc).__name__)
            return bad(f"unreadable record: {type(exc).__name__}")
        if isinstance(outcome, Dropped):
            if not outcome.keep:
                return None
            chat = f"{PLATFORM}:{outcome.chat_id}" if outcome.chat_id else None
            return archive.Kept(record.msgid, "skipped", outcome.reason, chat_key=chat, sender=outcome.sender)
        return outcome

    def pull_once(self) -> PullReport | None:
        """Pull until the archive has nothing newer (or MAX_BATCHES_PER_PULL batches). Blocking.
        None when another instance (or another thread here) is pulling."""
        if not self._busy.acquire(blocking=False):
            return None
        try:
            if not self.lock.acquire():
                return None
            if not self._retried:  # once per process, by the puller: keys may have been added since
                self._retried = True
                self.retry_bad_records()
            return self._pull()
        finally:
            self._busy.release()

    def _pull(self) -> PullReport:
        report = PullReport()
        limit = self.settings.wecom_archive_batch_size
        try:
            for _ in range(MAX_BATCHES_PER_PULL):
                with Session(self.host.engine) as session:
                    seq = archive.cursor(session, self.corp_id)
                records = sorted(self.source.pull(seq, limit), key=lambda r: r.seq)
                if not records:
                    break
                items = [(r.seq, i) for r in records if (i := self.item(r)) is not None]
                report.ignored += len(records) - len(items)
                with Session(self.host.engine) as session:
                    result = archive.commit_batch(session, self.corp_id, items, records[-1].seq,
                                                  require_consent=self.settings.wecom_archive_require_consent)
                report.records += len(records)
                report.seq = records[-1].seq
                report.stored += len(result.inbox_ids)
                report.kept += result.kept
                report.skipped_consent += result.skipped_consent
                report.consent_changes += result.consent_changes
                report.posted += result.posted
                report.inbox_ids += result.inbox_ids
                self._process(result.inbox_ids)
                if len(records) < limit:
                    break
        except ArchiveError as exc:
            report.error = str(exc)
            log.warning("chat archive pull stopped at seq %s: %s", report.seq, exc)
        if report.records:
            log.info("chat archive: %d records to seq %d: %d stored, %d kept, %d skipped for consent, %d ignored",
                     report.records, report.seq, report.stored, report.kept, report.skipped_consent, report.ignored)
        self.last_report = report
        return report

    def _process(self, inbox_ids: list[int]) -> None:
        """Run the bot on the newly stored messages here, unless this instance leaves processing
        to others (LINLI_RUN_INBOX=false): then their inbox workers take them like any deferred message."""
        if self.settings.run_inbox:
            for inbox_id in inbox_ids:
                self.host.process(inbox_id)

    def retry_bad_records(self) -> PullReport:
        """Read again the kept bad records whose key version is now configured (a key added after
        they arrived): the ones that open now reach the inbox like any pulled message, the others
        stay kept with their current reason. The cursor does not move. Blocking."""
        report = PullReport()
        with Session(self.host.engine) as session:
            rows = archive.bad_records_to_retry(session, self.keys.versions)
        records = [EncryptedRecord(**r.record) for r in rows if r.record]
        if not records:
            return report
        items = [(r.seq, i) for r in records if (i := self.item(r)) is not None]
        with Session(self.host.engine) as session:
            result = archive.commit_batch(session, self.corp_id, items, 0, retried=frozenset(r.msgid for r in records),
                                          require_consent=self.settings.wecom_archive_require_consent)
        report.records, report.stored, report.kept, report.inbox_ids = len(records), len(result.inbox_ids), result.kept, result.inbox_ids
        self._process(result.inbox_ids)
        log.info("chat archive: %d kept bad records read again, %d now stored", report.records, report.stored)
        return report

    async def _loop(self) -> None:
        while True:
            self.wakeup.clear()
            try:
                report = await run_in_threadpool(self.pull_once)
                if report and report.inbox_ids:
                    self.host.notify_changed()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("chat archive pull failed; the next round goes on from the stored cursor")
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout=self.settings.wecom_archive_pull_interval_seconds)
            except TimeoutError:
                pass

    async def start(self) -> None:
        await run_in_threadpool(self.link_members)
        self._task = asyncio.create_task(self._loop(), name="linli-wecom-archive")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self.lock.release()
        if hasattr(self.names, "close"):
            self.names.close()

    def link_members(self) -> int:
        """Grid workers' ``wecom:`` accounts also name them in the archive (see core.archive.link_members)."""
        spec = read_grids_file(self.settings.grids_file)
        explicit = frozenset(a for p in spec.people for a in p.accounts if a.startswith(f"{PLATFORM}:"))
        with db.session_scope(self.host.engine) as session:
            return archive.link_members(session, source=APP_PLATFORM, target=PLATFORM, explicit=explicit)

    # -- answering ---------------------------------------------------------------------------

    def owner_of(self, chat_key: str) -> GroupOwner | None:
        with Session(self.host.engine) as session:
            found = archive.group_owners(session, chat_key, platform=APP_PLATFORM)
        return GroupOwner(*found) if found else None

    def record(self, handed: HandedOver) -> None:
        with Session(self.host.engine) as session:
            archive.record_answer(session, chat_key=handed.chat_key, group_title=handed.title, text=handed.text,
                                  owners=handed.owners, via=handed.via)

    def mass_over_limit(self, chat_key: str) -> str | None:
        """Why this group cannot take another 企业群发 now (daily / monthly limits), or None."""
        s = self.settings
        local = datetime.now(ZoneInfo(s.timezone))
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        with Session(self.host.engine) as session:
            today = archive.mass_messages_since(session, chat_key, day)
            month = archive.mass_messages_since(session, chat_key, day.replace(day=1))
        if today >= s.wecom_archive_mass_daily_limit:
            return f"本群今天已企业群发 {today} 条（上限 {s.wecom_archive_mass_daily_limit} 条）"
        if month >= s.wecom_archive_mass_monthly_limit:
            return f"本群本月已企业群发 {month} 条（上限 {s.wecom_archive_mass_monthly_limit} 条）"
        return None

    def relay(self) -> ArchiveRelay:
        host = self.host
        return ArchiveRelay(
            app=lambda: host.adapter(APP_PLATFORM), owner_of=self.owner_of, render=host.render, record=self.record,
            mass_over_limit=self.mass_over_limit if self.settings.wecom_archive_mass_message else None,
            on_start=self.start, on_stop=self.stop,
        )


def mount(host: Host) -> Wiring:
    """The relay adapter (which starts the puller) and, when configured, the event callback.
    ``host.archive_source``, when a test or a demo sets it, replaces the Finance SDK."""
    channel = ArchiveChannel(host, host.archive_source)
    wiring = Wiring([channel.relay()], state={"wecom_archive": channel})
    settings = host.settings
    if settings.wecom_archive_token and settings.wecom_archive_aes_key:
        callbacks = ArchiveCallbacks(channel.corp_id, settings.wecom_archive_token, settings.wecom_archive_aes_key)

        async def notify(request: Request) -> Response:
            try:
                if await run_in_threadpool(callbacks.is_notify, query_of(request), await request.body()):
                    channel.wakeup.set()
            except InboundError as exc:
                return refused(request, exc)
            return PlainTextResponse("")

        wiring.routes += [url_verification(PATH, callbacks.verify_url), Route(PATH, notify)]
    if not (settings.wecom_agent_id and settings.wecom_secret):
        log.warning("the WeCom app is not configured to send (LINLI_WECOM_AGENT_ID / LINLI_WECOM_SECRET): customer groups "
                    "are read, but answers cannot reach the group owners and stay as failed deliveries")
    return wiring
