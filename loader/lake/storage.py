"""The lake: a local folder or an S3 prefix holding immutable extracts.

Keys are ``/``-separated paths relative to the lake root, e.g.
``nps/run_date=2021-09-16/extract_id=.../part-00000.parquet``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from loader.errors import ConfigError, LakeError


class Lake(Protocol):
    url: str

    def staging(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A local folder to write files into; when the block succeeds they are published
        under ``key`` all at once (or as one upload batch), and when it fails nothing is."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def remove_folder(self, key: str) -> None:
        """Remove everything under ``key`` (an unpublished extract's folder)."""
        ...

    def get_bytes(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def uri(self, key: str) -> str: ...


class LocalLake:
    """A folder. Every write goes to a temporary file first and is renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise LakeError(f"cannot write {target}: {exc.strerror or exc}") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remove_folder(self, key: str) -> None:
        folder = self._path(key)
        if folder.exists():
            shutil.rmtree(folder)
        with contextlib.suppress(OSError):  # the day's folder, only if nothing else is in it
            folder.parent.rmdir()

    @contextlib.contextmanager
    def staging(self, key: str) -> Iterator[Path]:
        """A hidden folder next to its final place (same filesystem, whatever the lake is
        mounted on), renamed into place when complete and removed when not."""
        target = self._path(key)
        parent = target.parent
        created = not parent.exists()
        try:
            parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=parent, prefix=".tmp-"))
        except OSError as exc:
            raise LakeError(f"cannot create a folder in {parent}: {exc.strerror or exc}") from None
        try:
            try:
                yield tmp
                for path in tmp.iterdir():
                    with path.open("rb") as handle:
                        os.fsync(handle.fileno())
                os.rename(tmp, target)
                _fsync_dir(parent)
            except OSError as exc:
                where = exc.filename or tmp
                raise LakeError(f"cannot write {where}: {exc.strerror or exc}") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):  # only if still empty: never other extracts
                    parent.rmdir()
            raise

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise LakeError(f"{self._path(key)} is missing from the lake") from None
        except OSError as exc:
            raise LakeError(f"cannot read {self._path(key)}: {exc.strerror or exc}") from None

    def exists(self, key: str) -> bool:
        """An object (a file) at ``key``; a folder there is none."""
        return self._path(key).is_file()

    def uri(self, key: str) -> str:
        return str(self._path(key).resolve())


class S3Lake:
    """An S3 (or S3-compatible, through ``AWS_ENDPOINT_URL``) bucket and prefix."""

    def __init__(
        self, bucket: str, prefix: str, client: Any = None, encryption: Encryption | None = None
    ) -> None:
        #: the server-side encryption every object this lake writes asks for
        self.write_args = (encryption or Encryption()).put_args()
        if client is None:
            import boto3  # boto3 honours AWS_ENDPOINT_URL and the standard credential chain

            client = boto3.client("s3")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, key: str, fn: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(Bucket=self.bucket, Key=self._key(key), **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                raise LakeError(f"{self.uri(key)} is missing from the lake") from None
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise LakeError(
                    f"S3 denied {what} {self.uri(key)} ({code}): check the credentials "
                    "and the bucket policy"
                ) from None
            raise LakeError(f"S3 {what} {self.uri(key)} failed: {code or exc}") from None
        except BotoCoreError as exc:
            raise LakeError(f"S3 {what} {self.uri(key)} failed: {exc}") from None

    def put_bytes(self, key: str, data: bytes) -> None:
        self._call("write of", key, self.client.put_object, Body=data, **self.write_args)

    def remove_folder(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = self._key(key).rstrip("/") + "/"
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
                if keys:
                    self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})
        except (BotoCoreError, ClientError) as exc:
            raise LakeError(f"S3 delete under {self.uri(key)}/ failed: {exc}") from None

    @contextlib.contextmanager
    def staging(self, key: str) -> Iterator[Path]:
        """A local temporary folder, uploaded file by file once complete; a failed upload
        removes the files already uploaded."""
        with tempfile.TemporaryDirectory(prefix="nps-extract-") as tmp:
            try:
                yield Path(tmp)
            except OSError as exc:
                where = exc.filename or tmp
                raise LakeError(f"cannot write {where}: {exc.strerror or exc}") from None
            try:
                for path in sorted(Path(tmp).iterdir()):
                    with path.open("rb") as handle:
                        self._call(
                            "write of",
                            f"{key}/{path.name}",
                            self.client.put_object,
                            Body=handle,
                            **self.write_args,
                        )
            except LakeError as exc:
                discard(self, key, exc)
                raise

    def get_bytes(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError

        response = self._call("read of", key, self.client.get_object)
        try:
            return bytes(response["Body"].read())
        except (BotoCoreError, OSError) as exc:
            raise LakeError(f"S3 read of {self.uri(key)} failed mid-transfer: {exc}") from None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return False
            self._call("lookup of", key, self.client.head_object)  # raises the clear error
        return True

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"


def discard(lake: Lake, key: str, failure: Exception) -> None:
    """Remove the unpublished folder ``key`` after ``failure``; if that fails too, raise one
    error that names both (nothing points at the folder: it is safe to delete later)."""
    try:
        lake.remove_folder(key)
    except (LakeError, OSError) as exc:
        raise LakeError(
            f"{failure}; removing its unpublished files under {lake.uri(key)} failed too "
            f"({exc}): no manifest points at them, delete them once the lake is reachable"
        ) from None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Encryption:
    """S3 server-side encryption of the objects the loader writes (NPS_LAKE_SSE): ``AES256``
    (SSE-S3) or ``aws:kms`` (SSE-KMS, with NPS_LAKE_KMS_KEY_ID or the account's aws/s3 key);
    none: the bucket's default encryption."""

    sse: str | None = None
    kms_key_id: str | None = None

    def __post_init__(self) -> None:
        if self.sse not in (None, "AES256", "aws:kms"):
            raise ConfigError(f"NPS_LAKE_SSE must be AES256 or aws:kms, got {self.sse!r}")
        if self.kms_key_id and self.sse != "aws:kms":
            raise ConfigError("NPS_LAKE_KMS_KEY_ID needs NPS_LAKE_SSE=aws:kms")

    def put_args(self) -> dict[str, str]:
        args = {"ServerSideEncryption": self.sse} if self.sse else {}
        if self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return args


def open_lake(url: str, encryption: Encryption | None = None) -> Lake:
    """``s3://bucket/prefix`` or a local folder (created on first write)."""
    if url.startswith("s3://"):
        parts = urlsplit(url)
        if not parts.netloc:
            raise ConfigError(f"--lake {url!r} names no bucket; use s3://bucket/prefix")
        return S3Lake(parts.netloc, parts.path, encryption=encryption)
    if "://" in url:
        raise ConfigError(f"--lake must be s3://bucket/prefix or a folder, got {url!r}")
    if encryption is not None and encryption.sse:
        raise ConfigError(
            f"NPS_LAKE_SSE={encryption.sse} encrypts S3 objects, but --lake {url} is a local "
            "folder: unset it, or use an s3:// lake"
        )
    return LocalLake(Path(url))
