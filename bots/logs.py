"""Log set-up for ``linli serve``: readable text (default) or one JSON object per line.

``LINLI_LOG_FORMAT=json`` gives lines a log collector can parse without rules::

    {"ts": "2026-11-26T04:48:15.310Z", "level": "INFO", "logger": "linli.app", "msg": "linli ready: …"}

Extra fields passed with ``log.info(..., extra={"inbox_id": 7})`` become keys; an
exception becomes ``"exc"`` (the traceback as one string, still one line).
uvicorn's own loggers (server and access log) use the same format.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName", "color_message"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, UTF-8 text kept readable (``ensure_ascii=False``)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    if fmt == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"log format {fmt!r} is not known; use text or json (LINLI_LOG_FORMAT)")


def configure(fmt: str = "text", level: str = "info") -> dict:
    """Send every log record (linli's and uvicorn's) to stderr in ``fmt``.

    Returns the ``log_config`` to hand to ``uvicorn.run`` so that uvicorn keeps this set-up."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
