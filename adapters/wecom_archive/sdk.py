"""The real archive: Tencent's Finance SDK (libWeWorkFinanceSdk_C) through ``pyweworkfinance``.

Imported only when the channel is configured. ``pyweworkfinance`` logs the corp id, the
secret, the unwrapped random keys and every decrypted message at DEBUG, on a logger named
``pyweworkfinance`` with its own stdout handler: :func:`quiet_sdk_logger` removes that
handler, sends what is left through the application's handlers (and its formats), and drops
everything below WARNING, whatever level someone later sets on that logger.

Load order matters: the SDK library and OpenCC's extension both carry their own C++ runtime;
loading the SDK after OpenCC aborts the process, loading it first works (both then run). So the
channel creates the SDK when it is mounted, before the classifier loads OpenCC, and
:class:`SdkArchive` refuses with an explanation instead of crashing when that order is broken.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from adapters.wecom_archive.source import ArchiveError, EncryptedRecord, RecordError

SDK_LOGGER = "pyweworkfinance"
MEDIA_CHUNKS_MAX = 10_000  # a safety stop for a media download that never says it is finished


class _WarningsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def quiet_sdk_logger() -> logging.Logger:
    """Make the SDK wrapper's logger safe: no own handler, WARNING and above only (its
    errors carry the SDK's error code and text, never keys or content)."""
    logger = logging.getLogger(SDK_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = True
    if not any(isinstance(f, _WarningsOnly) for f in logger.filters):
        logger.addFilter(_WarningsOnly())
    return logger


def _code(exc: Exception) -> str:
    return str(getattr(exc, "err_code", "?"))


class SdkArchive:
    """:class:`~adapters.wecom_archive.source.ArchiveSource` over the Finance SDK."""

    def __init__(self, corp_id: str, secret: str, *, proxy: str = "", proxy_password: str = "", timeout: int = 10):
        if any(name == "opencc" or name.startswith("opencc.") for name in sys.modules):
            # measured: loading the SDK after OpenCC's extension aborts the process (free(): invalid pointer)
            raise ArchiveError("the Finance SDK must be loaded before OpenCC in this process (their bundled C++ "
                               "runtimes clash and the process would abort): create the archive channel at start-up")
        from pyweworkfinance.error import WeWorkFinanceError
        from pyweworkfinance.main import WeWorkFinance

        quiet_sdk_logger()  # importing pyweworkfinance installed its stdout handler at INFO
        self._error = WeWorkFinanceError
        self.proxy, self.proxy_password, self.timeout = proxy, proxy_password, timeout
        try:
            self._sdk = WeWorkFinance(corp_id, secret, default_timeout=timeout)
        except WeWorkFinanceError as exc:
            raise ArchiveError(f"the Finance SDK refused to start (error {_code(exc)}): check the corp id and the "
                               "chat-archive Secret") from None

    def pull(self, seq: int, limit: int) -> list[EncryptedRecord]:
        try:
            response = self._sdk.get_chat_data(seq, limit, self.proxy, self.proxy_password, self.timeout)
        except self._error as exc:
            raise ArchiveError(f"GetChatData failed with SDK error {_code(exc)}: {exc.err_msg}") from None
        return [EncryptedRecord(seq=int(r.seq), msgid=str(r.msgid), publickey_ver=int(r.publickey_ver),
                                encrypt_random_key=r.encrypt_random_key, encrypt_chat_msg=r.encrypt_chat_msg)
                for r in response.chatdata]

    def decrypt(self, random_key: str, encrypt_chat_msg: str) -> dict[str, Any]:
        try:
            return self._sdk.decrypt_data(random_key, encrypt_chat_msg)
        except self._error as exc:
            raise RecordError(f"DecryptData failed with SDK error {_code(exc)}: {exc.err_msg}") from None

    def media(self, sdkfileid: str) -> bytes:
        parts: list[bytes] = []
        index: str | None = None
        for _ in range(MEDIA_CHUNKS_MAX):
            try:
                chunk = self._sdk.get_media_data(sdkfileid, index, self.proxy, self.proxy_password, self.timeout)
            except self._error as exc:
                raise ArchiveError(f"GetMediaData failed with SDK error {_code(exc)}: {exc.err_msg}") from None
            parts.append(chunk.data)
            if chunk.is_finish:
                return b"".join(parts)
            index = chunk.outindexbuf
        raise ArchiveError(f"media {sdkfileid[:16]}… did not finish after {MEDIA_CHUNKS_MAX} chunks")
