"""Log set-up for ``linli serve``: readable text (default) or one JSON object per line.

``LINLI_LOG_FORMAT=json`` gives lines a log collector can parse without rules::

    {"ts": "2026-11-26T04:48:15.310Z", "level": "INFO", "logger": "linli.app", "msg": "linli ready: …"}

Extra fields passed with ``log.info(..., extra={"inbox_id": 7})`` become keys; an
exception becomes ``"exc"`` (the traceback as one string, still one line).
uvicorn's own loggers (server and access log) use the same format.

Secrets never reach a log line. :func:`protect` (called by ``create_app``) installs a
:class:`Redactor` as the process's LogRecord factory, which every logger, linli's and every
library's (httpx, httpcore, aiohttp, aiogram, uvicorn, wechatpy, …), calls to create each record,
before any handler sees it. That is the one place that catches everything: a filter on the root
*logger* never runs for records that propagate up from ``httpx`` (propagation calls ancestors'
handlers, not their filters), and a filter on *handlers* misses every handler added later
(uvicorn's own, a test's, an error reporter's). The factory redacts the message and each
argument separately, so records still format lazily with ``%`` and formatters that read
``record.args`` (uvicorn's access formatter) keep working; it pre-formats the traceback of
``exc_info`` redacted. Our own formatters redact the finished line once more, which also covers
``extra=`` fields (set on the record after the factory ran).

What is redacted: the value of every configured secret (tokens, app secrets, EncodingAESKeys,
``LINLI_SECRET_KEY``, the WeCom robot webhook keys, passwords in database and Redis URLs), and by
shape ``access_token=``, ``corpsecret=``, ``secret=``, any ``…token=``/``…secret=``/``signature=``/
``echostr=`` parameter, ``key=`` in a URL query, Telegram bot tokens in URLs (``/bot123:ABC…/``),
``Bearer`` credentials, and the whole query string of ``/webhooks/…`` paths (WeChat signs its
callbacks there: signature, msg_signature, timestamp, nonce, echostr and openid stay out of the
access log).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName", "color_message"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


REDACTED = "[redacted]"
MIN_SECRET_CHARS = 6
"""Configured values shorter than this are not searched for literally (they would blot out ordinary words)."""

_SENSITIVE_WORD = r"(?:secret|token|passw(?:or)?d|signature|aes_?key|echostr|response_code)"
_SENSITIVE_NAME = rf"[\w-]*{_SENSITIVE_WORD}[\w-]*"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # /webhooks/wechat?signature=…&timestamp=…&nonce=…&openid=… → /webhooks/wechat?[redacted]
    (re.compile(r"(/webhooks/[^\s?\"']*)\?[^\s\"']*"), r"\1?" + REDACTED),
    # access_token=…, corpsecret=…, secret=…, telegram_token='…', and key=/sign= inside a URL query
    (re.compile(rf"(?i)((?:\b{_SENSITIVE_NAME}|(?<=[?&])(?:key|sign))\s*=\s*['\"]?)[^\s&'\"<>,)]+"), r"\1" + REDACTED),
    # "access_token": "…" and 'secret': '…' (JSON and Python reprs)
    (re.compile(rf"(?i)((['\"]){_SENSITIVE_NAME}\2\s*:\s*(['\"]))[^'\"]*\3"), r"\1" + REDACTED + r"\3"),
    # Telegram bot tokens: in Bot API URLs (/bot123456:ABC…/sendMessage) and on their own
    (re.compile(r"(?i)(/bot)\d+(?::|%3A)[\w-]+"), r"\1" + REDACTED),
    (re.compile(r"\b\d{6,12}(?::|%3A)[\w-]{30,}"), REDACTED),
    (re.compile(r"(?i)(\bbearer\s+)[\w.~+/=-]+"), r"\1" + REDACTED),
    # the password of a URL's user info: postgresql://user:…@host
    (re.compile(r"(://[^/\s:@]*:)[^/\s@]+@"), r"\1" + REDACTED + "@"),
]
_MAY_HOLD = re.compile(r"secret|token|passw|signature|aes_?key|echostr|response_code|key=|sign=|/webhooks/[\w/-]*\?|/bot"
                       r"|bearer|@|%3a|\d:[\w-]{30}")
"""Something one of the patterns above needs, searched for in the lower-cased text (a case-blind
search is four times slower): one search clears the usual line, which holds nothing to redact."""


class _Scrubbed(str):
    """A log argument whose str() and repr() were redacted: ``%s`` and ``%r`` both stay safe."""

    _repr: str

    def __new__(cls, text: str, representation: str):
        scrubbed = super().__new__(cls, text)
        scrubbed._repr = representation
        return scrubbed

    def __repr__(self) -> str:
        return self._repr


class Redactor:
    """Replaces secrets in text: each configured value literally, and credentials by their shape."""

    def __init__(self) -> None:
        self._literals: set[str] = set()
        self._literal: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, values: Iterable[str | None]) -> None:
        """Search for these values from now on (and for their URL-encoded forms)."""
        with self._lock:
            for value in values:
                if value and len(value) >= MIN_SECRET_CHARS:
                    self._literals |= {value, quote(value, safe=""), quote_plus(value)}
            longest_first = sorted(self._literals, key=len, reverse=True)
            self._literal = re.compile("|".join(map(re.escape, longest_first))) if longest_first else None

    def __call__(self, text: str) -> str:
        literal = self._literal
        if _MAY_HOLD.search(text.lower()) is None and (literal is None or literal.search(text) is None):
            return text
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return literal.sub(REDACTED, text) if literal is not None else text

    def argument(self, value: object) -> object:
        """``value`` itself when neither its str() nor its repr() holds a secret, else a redacted stand-in."""
        if isinstance(value, str):
            return self(value)  # the repr of the redacted text is the redacted repr
        if value is None or isinstance(value, (bool, int, float)):
            return value
        text, representation = str(value), repr(value)
        safe_text, safe_representation = self(text), self(representation)
        if safe_text == text and safe_representation == representation:
            return value
        return _Scrubbed(safe_text, safe_representation)

    def scrub(self, record: logging.LogRecord) -> None:
        """Redact a record's message, arguments, traceback and stack in place."""
        record.msg = self(record.msg if isinstance(record.msg, str) else str(record.msg))
        if isinstance(record.args, Mapping):
            record.args = {key: self.argument(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(self.argument(value) for value in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = self(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self(record.stack_info)


REDACT = Redactor()
_install_lock = threading.Lock()
_factory_installed = False


def install_redaction() -> None:
    """Make every LogRecord created from now on pass through :data:`REDACT` (idempotent)."""
    global _factory_installed
    with _install_lock:
        if _factory_installed:
            return
        make_record = logging.getLogRecordFactory()

        def redacting_factory(*args, **kwargs) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            try:
                REDACT.scrub(record)
            except Exception:  # a log call must never raise; an unprintable argument stays as it was
                pass
            return record

        logging.setLogRecordFactory(redacting_factory)
        _factory_installed = True


def secrets_of(settings) -> list[str]:
    """The configured secret values: every ``*secret*``/``*token*``/``*_key`` setting, the passwords
    in URL settings, and the query values of the WeCom robot webhooks (their ``key=``)."""
    values: list[str] = []
    for name, value in settings.model_dump().items():
        field = type(settings).model_fields.get(name)
        if not isinstance(value, str) or not value or (field is not None and value == field.default):
            continue  # a default is printed in the source for all to read: no secret
        if re.search(r"secret|token|_key$|password", name):
            values.append(value)
        if name.endswith("_url") and (password := urlsplit(value).password):
            values.append(password)
    for entry in (settings.wecom_robot_webhooks or "").split(","):
        _, _, url = entry.partition("=")
        values += [v for _, v in parse_qsl(urlsplit(url.strip()).query)]
    return values


def protect(settings) -> None:
    """Install the redacting record factory and search the logs for ``settings``' secret values."""
    install_redaction()
    REDACT.add(secrets_of(settings))


class RedactingFormatter(logging.Formatter):
    """The text format, with the finished line redacted (``extra=`` fields included)."""

    def format(self, record: logging.LogRecord) -> str:
        return REDACT(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, UTF-8 text kept readable (``ensure_ascii=False``)."""

    def format(self, record: logging.LogRecord) -> str:
        return REDACT(self._json(record))

    def _json(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info:
            out["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    if fmt == "text":
        return RedactingFormatter(TEXT_FORMAT)
    raise ValueError(f"log format {fmt!r} is not known; use text or json (LINLI_LOG_FORMAT)")


def configure(fmt: str = "text", level: str = "info") -> dict:
    """Send every log record (linli's and uvicorn's) to stderr in ``fmt``.

    Returns the ``log_config`` to hand to ``uvicorn.run`` so that uvicorn keeps this set-up.
    SQLAlchemy stays at WARNING whatever ``level`` says: at INFO and below it would print every
    statement's parameters (residents' words, access tokens)."""
    install_redaction()
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
