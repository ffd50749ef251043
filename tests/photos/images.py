"""Real image bytes for photo tests: a decodable PNG of any size (no imaging library needed)."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 8, height: int = 6, rgb: tuple[int, int, int] = (200, 40, 40), *, padding: int = 0) -> bytes:
    """A valid RGB PNG; ``padding`` adds an ancillary text chunk to make the file that much bigger."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    if padding:
        body += chunk(b"tEXt", b"Comment\x00" + b"x" * padding)
    body += chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
       b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
