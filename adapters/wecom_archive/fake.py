"""An archive that encrypts records the way WeCom's does, for tests and demos (no network).

Each record gets a fresh random key (32 ASCII characters), wrapped with the RSA public key of
its ``publickey_ver`` (PKCS#1 v1.5, base64): exactly what linli unwraps with its private key.
The message itself is encrypted with that random key using AES-256-GCM (the real archive's
symmetric scheme is inside the SDK's DecryptData; only the source has to know it). The records
can be saved to and loaded from a JSON file, so another process serves the same archive.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.wecom_archive.source import ArchiveError, EncryptedRecord, RecordError


def new_private_key_pem(bits: int = 2048) -> str:
    """A new RSA private key as PEM (what the organisation generates and uploads the public half of)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def public_key_of(private_pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey), "the fake signs with RSA keys only"
    return key.public_key()


def _aes(random_key: str) -> AESGCM:
    return AESGCM(hashlib.sha256(random_key.encode()).digest())


def seal(public_key: rsa.RSAPublicKey, plaintext: bytes) -> tuple[str, str]:
    """(encrypt_random_key, encrypt_chat_msg) for one record's plaintext."""
    random_key = secrets.token_hex(16)
    nonce = os.urandom(12)
    wrapped = public_key.encrypt(random_key.encode(), padding.PKCS1v15())
    return base64.b64encode(wrapped).decode(), base64.b64encode(nonce + _aes(random_key).encrypt(nonce, plaintext, None)).decode()


class FakeArchive:
    """An :class:`~adapters.wecom_archive.source.ArchiveSource` holding encrypted records in memory."""

    def __init__(self, public_keys: dict[int, rsa.RSAPublicKey] | None = None):
        self.public_keys = dict(public_keys or {})
        self.records: list[EncryptedRecord] = []
        self.media_files: dict[str, bytes] = {}
        self.pulls: list[tuple[int, int]] = []  # (seq, limit) of every pull, for tests
        self.fail_pulls = 0  # the next N pulls raise ArchiveError (network trouble)

    @property
    def last_seq(self) -> int:
        return self.records[-1].seq if self.records else 0

    def add(self, message: dict[str, Any], *, publickey_ver: int) -> EncryptedRecord:
        """Archive one message (its JSON as WeCom documents it), wrapped with key ``publickey_ver``."""
        return self.add_plaintext(json.dumps(message, ensure_ascii=False).encode(), msgid=message["msgid"],
                                  publickey_ver=publickey_ver)

    def add_plaintext(self, plaintext: bytes, *, msgid: str, publickey_ver: int) -> EncryptedRecord:
        """Archive arbitrary bytes (e.g. malformed JSON) as a record."""
        key, msg = seal(self.public_keys[publickey_ver], plaintext)
        return self.add_encrypted(msgid=msgid, publickey_ver=publickey_ver, encrypt_random_key=key, encrypt_chat_msg=msg)

    def add_encrypted(self, *, msgid: str, publickey_ver: int, encrypt_random_key: str, encrypt_chat_msg: str) -> EncryptedRecord:
        record = EncryptedRecord(seq=self.last_seq + 1, msgid=msgid, publickey_ver=publickey_ver,
                                 encrypt_random_key=encrypt_random_key, encrypt_chat_msg=encrypt_chat_msg)
        self.records.append(record)
        return record

    # -- ArchiveSource ------------------------------------------------------------------------

    def pull(self, seq: int, limit: int) -> list[EncryptedRecord]:
        self.pulls.append((seq, limit))
        if self.fail_pulls:
            self.fail_pulls -= 1
            raise ArchiveError("GetChatData failed with SDK error 10001: 网络错误，网络请求错误")
        return [r for r in self.records if r.seq > seq][:limit]

    def decrypt(self, random_key: str, encrypt_chat_msg: str) -> dict[str, Any]:
        try:
            raw = base64.b64decode(encrypt_chat_msg, validate=True)
            plaintext = _aes(random_key).decrypt(raw[:12], raw[12:], None)
        except (ValueError, InvalidTag) as exc:
            raise RecordError("DecryptData failed with SDK error 10006: 解密失败") from exc
        return json.loads(plaintext)

    def media(self, sdkfileid: str) -> bytes:
        try:
            return self.media_files[sdkfileid]
        except KeyError:
            raise ArchiveError("GetMediaData failed with SDK error 10005: fileid错误") from None

    # -- another process serves the same archive ---------------------------------------------------

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps([r.as_dict() for r in self.records]), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> FakeArchive:
        fake = cls()
        fake.records = [EncryptedRecord(**r) for r in json.loads(Path(path).read_text(encoding="utf-8"))]
        return fake
