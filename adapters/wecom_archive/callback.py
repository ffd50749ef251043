"""The archive's event callback (「产生会话回调事件」): an encrypted WeCom callback whose event
``msgaudit_notify`` says new records are ready. It carries no content: it only wakes the puller."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from adapters.wx_common import Envelope, check_fresh, check_size, field, now_seconds, parse_xml

NOTIFY_EVENT = "msgaudit_notify"


class ArchiveCallbacks:
    """Verification and decryption of the archive's callbacks (receive id = corp id). Synchronous."""

    def __init__(self, corp_id: str, token: str, aes_key: str, *, clock: Callable[[], float] = now_seconds):
        self.envelope = Envelope(token, aes_key, corp_id)
        self.clock = clock

    def verify_url(self, query: Mapping[str, str]) -> str:
        return self.envelope.verify_url(query, self.clock())

    def is_notify(self, query: Mapping[str, str], body: bytes) -> bool:
        """Verify and decrypt one callback; True when it announces new records."""
        check_size(body)
        check_fresh(query.get("timestamp"), self.clock())
        outer = parse_xml(body)
        doc = parse_xml(self.envelope.open(query.get("msg_signature"), query.get("timestamp", ""), query.get("nonce", ""),
                                           field(outer, "Encrypt", required=True)))
        return field(doc, "MsgType").lower() == "event" and field(doc, "Event") == NOTIFY_EVENT
