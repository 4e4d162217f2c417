"""Where document bytes live: a local directory (the default) or an S3-compatible object
store, chosen by ``DOCUMENT_STORAGE``. Both keep each file under its SHA-256, so the
database rows say which bytes they mean and identical files share one copy.

The store is built once per app (``init_app``) and reached through :func:`current`;
services never know which kind it is.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, current_app

from portal.config import ConfigurationError

KINDS = ("local", "s3")
_HASH = re.compile(r"[0-9a-f]{64}")


class DocumentStore(Protocol):
    """Bytes by their SHA-256 (lower-case hex)."""

    def put(self, sha256: str, data: bytes) -> bool:
        """Keep ``data`` under ``sha256``; ``True`` when it was not there before."""

    def get(self, sha256: str) -> bytes:
        """The bytes. Raises: FileNotFoundError when nothing is stored under it."""

    def delete(self, sha256: str) -> None:
        """Forget the bytes (nothing when there are none)."""


def _checked(sha256: str) -> str:
    """Raises: FileNotFoundError for anything but a SHA-256 (no path or key tricks)."""
    if not _HASH.fullmatch(sha256):
        raise FileNotFoundError(sha256)
    return sha256


class LocalStore:
    """Files in a directory outside the web root: ``ab/cd/abcd…``, mode 0640, each written
    to a temporary name and renamed, so a crash leaves no torn file."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        _checked(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, data: bytes) -> bool:
        path = self.path(sha256)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(data)
        temporary.chmod(0o640)
        temporary.replace(path)
        return True

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


class S3Store:
    """Objects in one bucket of an S3-compatible store (AWS S3, MinIO, Ceph, …), under
    ``prefix`` + ``ab/cd/abcd…``. The bucket is the operator's: the portal never creates
    or lists it, and needs only GetObject, PutObject, DeleteObject and HeadObject."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def key(self, sha256: str) -> str:
        _checked(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def _missing(self, error: Exception) -> bool:
        code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound"}

    def put(self, sha256: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        key = self.key(sha256)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return False
        except ClientError as error:
            if not self._missing(error):
                raise
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data,
                               ContentType="application/octet-stream")
        return True

    def get(self, sha256: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as error:
            if self._missing(error):
                raise FileNotFoundError(sha256) from None
            raise
        body: bytes = found["Body"].read()
        return body

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))


def s3_client(config: Any) -> Any:
    """A boto3 S3 client from the ``S3_*`` settings (keys unset: boto3's own chain,
    e.g. ``AWS_ACCESS_KEY_ID`` or an instance role)."""
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(
        "s3",
        endpoint_url=config.get("S3_ENDPOINT_URL") or None,
        region_name=config.get("S3_REGION") or None,
        aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
        config=BotoConfig(
            s3={"addressing_style": config.get("S3_ADDRESSING_STYLE") or "path"},
            connect_timeout=float(config.get("S3_TIMEOUT", 10)),
            read_timeout=float(config.get("S3_TIMEOUT", 10)),
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )


_S3_SETTINGS = ("S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY_ID",
                "S3_SECRET_ACCESS_KEY", "S3_ADDRESSING_STYLE", "S3_TIMEOUT")


def build(config: Any) -> DocumentStore:
    """The store the settings ask for.

    Raises:
        ConfigurationError: an unknown ``DOCUMENT_STORAGE``, or ``s3`` without
            ``S3_BUCKET``.
    """
    kind = str(config.get("DOCUMENT_STORAGE") or "local").lower()
    if kind == "local":
        return LocalStore(config["ATTACHMENT_DIR"])
    if kind == "s3":
        bucket = config.get("S3_BUCKET")
        if not bucket:
            raise ConfigurationError("DOCUMENT_STORAGE is s3 but S3_BUCKET is not set")
        return S3Store(s3_client(config), str(bucket), str(config.get("S3_PREFIX") or ""))
    raise ConfigurationError(f"DOCUMENT_STORAGE must be one of {', '.join(KINDS)}, "
                             f"not {kind!r}")


def init_app(app: Flask) -> None:
    """Refuse bad storage settings at start-up (see :func:`build`)."""
    build(app.config)


def current() -> DocumentStore:
    """The current app's document store, as its settings say now (the S3 client is made
    once per app and settings, and reused: it keeps its connections)."""
    config = current_app.config
    if str(config.get("DOCUMENT_STORAGE") or "local").lower() == "local":
        return LocalStore(config["ATTACHMENT_DIR"])
    settings = tuple(str(config.get(name)) for name in _S3_SETTINGS)
    cached = current_app.extensions.get("document_store")
    if cached is None or cached[0] != settings:
        cached = (settings, build(config))
        current_app.extensions["document_store"] = cached
    store: DocumentStore = cached[1]
    return store
