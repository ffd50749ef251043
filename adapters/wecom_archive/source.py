"""The archive as a small interface, and opening one record (RSA-unwrapped key → decrypted JSON).

Each archived record carries ``publickey_ver`` (which of the organisation's RSA key pairs
wrapped it), ``encrypt_random_key`` (base64 of the random key encrypted with that public key,
PKCS#1 v1.5) and ``encrypt_chat_msg`` (the message encrypted with the random key; only the
source knows how: the real one through the SDK's DecryptData).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MIN_CIPHERTEXT_CHARS = 16
"""Shorter ``encrypt_chat_msg`` values are refused before the SDK sees them: its DecryptData
aborts the whole process (an uncaught C++ exception) below 13 characters."""


@dataclass(frozen=True)
class EncryptedRecord:
    """One record as GetChatData returns it."""

    seq: int
    msgid: str
    publickey_ver: int
    encrypt_random_key: str
    encrypt_chat_msg: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ArchiveError(Exception):
    """Pulling failed as a whole (network, credentials, IP not allowed); the cursor stays put."""


class RecordError(Exception):
    """One record cannot be opened; ``reason`` says why. It is kept, and the pull goes on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ArchiveSource(Protocol):
    """Where records come from: the Finance SDK in production, :class:`~.fake.FakeArchive` in tests.
    Synchronous (the SDK blocks): callers run it off the event loop."""

    def pull(self, seq: int, limit: int) -> list[EncryptedRecord]:
        """Records after ``seq``, oldest first, at most ``limit``. Raises ArchiveError."""

    def decrypt(self, random_key: str, encrypt_chat_msg: str) -> dict[str, Any]:
        """The record's JSON, given its unwrapped random key. Raises RecordError."""

    def media(self, sdkfileid: str) -> bytes:
        """The whole media file (fetched in chunks). Raises ArchiveError."""


class PrivateKeys:
    """The organisation's RSA private keys by ``publickey_ver`` (several during a rotation).

    Values are PEM text or paths to PEM files. Key material never appears in errors or logs."""

    def __init__(self, keys: Mapping[int, rsa.RSAPrivateKey]):
        self._keys = dict(keys)

    @classmethod
    def load(cls, sources: Mapping[int | str, str]) -> PrivateKeys:
        keys: dict[int, rsa.RSAPrivateKey] = {}
        for version, source in sources.items():
            pem = source.encode() if source.lstrip().startswith("-----BEGIN") else _read_key_file(version, source)
            try:
                key = serialization.load_pem_private_key(pem, password=None)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"archive private key version {version} is not an unencrypted PEM RSA private key") from exc
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"archive private key version {version} is not an RSA key")
            keys[int(version)] = key
        if not keys:
            raise ValueError("no archive private keys: set LINLI_WECOM_ARCHIVE_PRIVATE_KEYS, e.g. '{\"1\": \"/etc/linli/archive-v1.pem\"}'")
        return cls(keys)

    @property
    def versions(self) -> list[int]:
        return sorted(self._keys)

    def unwrap(self, version: int, encrypt_random_key: str) -> str:
        """The random key of a record, or RecordError (unknown version, undecryptable)."""
        key = self._keys.get(version)
        if key is None:
            raise RecordError(f"unknown key version {version}: add its private key to LINLI_WECOM_ARCHIVE_PRIVATE_KEYS "
                              f"(known: {', '.join(map(str, self.versions))})")
        try:
            wrapped = base64.b64decode(encrypt_random_key, validate=True)
            return key.decrypt(wrapped, padding.PKCS1v15()).decode("ascii")
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise RecordError(f"random key cannot be decrypted with key version {version}") from exc


def _read_key_file(version: int | str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"archive private key version {version}: cannot read {path} ({exc.strerror})") from exc


def open_record(source: ArchiveSource, keys: PrivateKeys, record: EncryptedRecord) -> dict[str, Any]:
    """Unwrap the random key, decrypt, and return the record's JSON object. Raises RecordError."""
    random_key = keys.unwrap(record.publickey_ver, record.encrypt_random_key)
    if len(record.encrypt_chat_msg or "") < MIN_CIPHERTEXT_CHARS:
        raise RecordError("encrypted message is empty or truncated")
    try:
        plain = source.decrypt(random_key, record.encrypt_chat_msg)
    except json.JSONDecodeError as exc:
        raise RecordError(f"decrypted message is not JSON: {exc.msg} at {exc.pos}") from exc
    if not isinstance(plain, dict):
        raise RecordError("decrypted message is not a JSON object")
    return plain
