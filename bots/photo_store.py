"""Where photo bytes live: content-addressed (sha256) files under the data directory, or an
S3-compatible bucket (AWS S3, MinIO, OSS/COS in S3 mode) when ``LINLI_PHOTOS_S3_BUCKET`` is set.

The same content is stored once whoever sent it; a stored object is never changed, so a write
that is interrupted and repeated is harmless (local files are written to a temporary name and
renamed into place).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class PhotoStore(Protocol):
    def put(self, data: bytes, content_type: str) -> str: ...
    def get(self, sha256: str) -> bytes | None: ...


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked(sha256: str) -> str:
    if not _DIGEST.match(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


class LocalStore:
    """Files ``<root>/ab/cd/<sha256>`` (two levels of fan-out keep directories small)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        d = _checked(sha256)
        return self.root / d[:2] / d[2:4] / d

    def put(self, data: bytes, content_type: str) -> str:
        """Store ``data``; returns its sha256. Writing the same content twice keeps one file."""
        d = digest_of(data)
        target = self.path_of(d)
        if target.exists() and target.stat().st_size == len(data):
            return d
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return d

    def get(self, sha256: str) -> bytes | None:
        path = self.path_of(sha256)
        return path.read_bytes() if path.is_file() else None


class S3Store:
    """Objects ``<prefix><sha256>`` in one bucket of an S3-compatible service (boto3)."""

    def __init__(self, bucket: str, *, endpoint: str | None, region: str, access_key: str | None,
                 secret_key: str | None, prefix: str = "photos/"):
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:
            raise RuntimeError("LINLI_PHOTOS_S3_BUCKET is set but boto3 is not installed: pip install 'linli[s3]'") from exc

        self.bucket, self.prefix = bucket, prefix
        self.client = boto3.client(
            "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2}, s3={"addressing_style": "path"}),
        )

    def put(self, data: bytes, content_type: str) -> str:
        d = digest_of(data)
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + d, Body=data, ContentType=content_type)
        return d

    def get(self, sha256: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _checked(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return answer["Body"].read()


def store_for(settings) -> PhotoStore:
    """The store the settings name: S3 when a bucket is set, else ``<data_dir>/photos``."""
    if settings.photos_s3_bucket:
        return S3Store(settings.photos_s3_bucket, endpoint=settings.photos_s3_endpoint, region=settings.photos_s3_region,
                       access_key=settings.photos_s3_access_key, secret_key=settings.photos_s3_secret_key,
                       prefix=settings.photos_s3_prefix)
    return LocalStore(Path(settings.data_dir) / "photos")
