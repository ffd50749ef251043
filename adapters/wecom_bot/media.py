"""The WeCom AI bot's images (智能机器人): ``image.url`` (msgtype ``image`` and items of ``mixed``,
carried as the message's image attachments), valid five minutes. The bytes are AES-256-CBC
encrypted with the bot's EncodingAESKey (key = base64 of it, IV = the key's first 16 bytes,
PKCS#7 padding to 32 bytes). cryptography is imported only when an image is decrypted.
"""

from __future__ import annotations

import base64
import binascii

import httpx

from adapters.media import Fetch, MediaError, download


def wecom_bot_key(encoding_aes_key: str) -> bytes:
    """The AES key of an EncodingAESKey (43 characters of base64)."""
    try:
        key = base64.b64decode(encoding_aes_key + "=")
    except binascii.Error as exc:
        raise ValueError("the EncodingAESKey is not base64 (43 characters from the bot's settings)") from exc
    if len(key) != 32:
        raise ValueError("the EncodingAESKey must decode to 32 bytes (43 characters)")
    return key


def wecom_bot_decrypt(data: bytes, encoding_aes_key: str) -> bytes:
    """Decrypt an AI-bot file: AES-256-CBC, IV = key[:16], PKCS#7 padding to a multiple of 32."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = wecom_bot_key(encoding_aes_key)
    if len(data) % 16:
        try:  # some gateways hand the ciphertext over base64-encoded
            data = base64.b64decode(data, validate=True)
        except binascii.Error:
            pass
    if not data or len(data) % 16:
        raise MediaError("the encrypted image is not a whole number of AES blocks", retryable=False)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad:
        raise MediaError("the image did not decrypt with this bot's EncodingAESKey (bad padding)", retryable=False)
    return plain[:-pad]


def wecom_bot_encrypt(plain: bytes, encoding_aes_key: str) -> bytes:
    """The inverse of :func:`wecom_bot_decrypt` (for test doubles of the platform)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = wecom_bot_key(encoding_aes_key)
    pad = 32 - len(plain) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()


def wecom_bot_fetcher(client: httpx.AsyncClient, encoding_aes_key: str) -> Fetch:
    """Bytes of an AI-bot image URL, decrypted."""

    async def fetch(url: str, max_bytes: int) -> bytes:
        body, _ = await download(client, url, max_bytes + 64, label="the AI bot's image URL")  # padding adds a little
        return wecom_bot_decrypt(body, encoding_aes_key)

    return fetch
