"""Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW...), same contract as the local store.

Objects are named ``<prefix>blobs/ab/cd/<sha256>``. Writes stream in parts of ``part_size``
bytes (S3 multipart upload above one part, one ``PutObject`` below), so memory stays at about
one part whatever the blob's size. The key is only known once the data is hashed, so a blob of
unknown hash is uploaded under ``<prefix>tmp/<uuid>`` and copied into place server-side; with
an announced hash it goes straight to its final key and the multipart upload is completed only
after the hash matched (aborted otherwise: nothing stored). Completing a multipart upload and a
copy are atomic in S3, so readers see a whole blob or none. Reads are verified against the name
(:class:`ChecksumMismatchError` at the end of a stream that does not hash to it).

:meth:`path` returns a local, verified copy in ``cache_dir`` for code that needs a file (web
previews, downloads); blobs never change, so the cache never goes stale.

Credentials come from boto3's standard chain (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``,
a profile, an instance role), never from the storage URL, which is stored with every job.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from aion.platform.storage.blobstore import BlobInfo, BlobStore, check_ref, check_sha256, iter_chunks
from aion.platform.storage.errors import BlobNotFoundError, ChecksumMismatchError, StorageError

MIN_PART = 5 * 1024 * 1024  # S3's smallest part (except the last)
PART = 8 * 1024 * 1024


def _missing(e: Exception) -> bool:
    code = str(getattr(e, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def _failed(url: str, e: Exception) -> StorageError:
    return StorageError(f"S3 오류: {url}: {e} / S3 error: {url}: {e}")


def _mismatch(expected: str, got: str) -> ChecksumMismatchError:
    return ChecksumMismatchError(
        f"체크섬 불일치: 기대 {expected}, 실제 {got} / Checksum mismatch: expected {expected}, got {got}"
    )


class _VerifyingReader(io.RawIOBase):
    """A streaming body that hashes what is read and checks the hash at the end."""

    def __init__(self, body: Any, sha256: str) -> None:
        self.body = body
        self.sha256 = sha256
        self.h = hashlib.sha256()
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.body.read(len(b))
        if not data:
            if not self.done:
                self.done = True
                if self.h.hexdigest() != self.sha256:
                    raise _mismatch(self.sha256, self.h.hexdigest())
            return 0
        self.h.update(data)
        n = len(data)
        b[:n] = data
        return n

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.body.close()
        super().close()


class S3BlobStore(BlobStore):
    """Content-addressed blobs in ``s3://bucket/prefix`` through boto3."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
        cache_dir: str | os.PathLike[str] | None = None,
        part_size: int = PART,
        url: str | None = None,
    ) -> None:
        if not bucket:
            raise StorageError("S3 버킷 이름이 없음 / Missing S3 bucket name (s3://BUCKET/PREFIX)")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = max(MIN_PART, part_size)
        self.url = url or f"s3://{bucket}/{self.prefix}"
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        self.client = client
        self.cache_dir = Path(cache_dir or Path(tempfile.gettempdir()) / "aion-blob-cache")

    # ------------------------------------------------------------------ names
    def key(self, sha256: str) -> str:
        s = check_sha256(sha256)
        return f"{self.prefix}blobs/{s[:2]}/{s[2:4]}/{s}"

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)  # type: ignore[no-any-return]
        except Exception as e:
            if _missing(e):
                return None
            raise _failed(self.url, e) from e

    def check(self) -> None:
        """Raise :class:`StorageError` naming the URL unless the bucket answers (fail at start, not later)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as e:
            raise StorageError(
                f"S3 버킷에 접근할 수 없음: {self.url}: {e} (버킷, endpoint_url, AWS 자격 증명 확인) / "
                f"S3 bucket not reachable: {self.url}: {e} (check the bucket, endpoint_url and AWS credentials)"
            ) from e

    # ------------------------------------------------------------------ writes
    def put_stream(self, source: BinaryIO | Iterable[bytes], expected_sha256: str | None = None) -> BlobInfo:
        try:
            return self._put_stream(source, expected_sha256)
        except StorageError:
            raise
        except Exception as e:
            if type(e).__module__.startswith(("botocore", "boto3", "s3transfer")):
                raise _failed(self.url, e) from e
            raise  # the source's own error (a client that went away...): as it is

    def _put_stream(self, source: BinaryIO | Iterable[bytes], expected_sha256: str | None) -> BlobInfo:
        expected = check_sha256(expected_sha256) if expected_sha256 is not None else None
        h = hashlib.sha256()
        size = 0
        if expected is not None and self.exists(expected):  # dedupe: hash only, upload nothing
            for block in iter_chunks(source, self.part_size):
                h.update(block)
                size += len(block)
            if h.hexdigest() != expected:
                raise _mismatch(expected, h.hexdigest())
            return BlobInfo(expected, size, created=False)
        target = self.key(expected) if expected is not None else f"{self.prefix}tmp/{uuid.uuid4().hex}"
        buf = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        completed = False
        try:
            for block in iter_chunks(source, self.part_size):
                h.update(block)
                size += len(block)
                buf += block
                if len(buf) >= self.part_size:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=target)[
                            "UploadId"
                        ]
                    self._part(target, upload_id, parts, bytes(buf[: self.part_size]))
                    del buf[: self.part_size]
            sha = h.hexdigest()
            if expected is not None and sha != expected:
                raise _mismatch(expected, sha)
            if upload_id is None:  # small: the whole blob is in one buffer
                if self.exists(sha):
                    return BlobInfo(sha, size, created=False)
                self.client.put_object(Bucket=self.bucket, Key=self.key(sha), Body=bytes(buf))
                return BlobInfo(sha, size, created=True)
            if buf:
                self._part(target, upload_id, parts, bytes(buf))
            if expected is None and self.exists(sha):
                return BlobInfo(sha, size, created=False)  # the multipart upload is aborted below
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=target, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
            completed = True
            if expected is None:  # move the finished object to its name (server-side, atomic)
                self.client.copy({"Bucket": self.bucket, "Key": target}, self.bucket, self.key(sha))
            return BlobInfo(sha, size, created=True)
        finally:
            if upload_id is not None and not completed:
                with contextlib.suppress(Exception):
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=target, UploadId=upload_id)
            if completed and expected is None:
                with contextlib.suppress(Exception):
                    self.client.delete_object(Bucket=self.bucket, Key=target)

    def _part(self, key: str, upload_id: str, parts: list[dict[str, Any]], data: bytes) -> None:
        n = len(parts) + 1
        r = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=data)
        parts.append({"ETag": r["ETag"], "PartNumber": n})

    # ------------------------------------------------------------------ reads
    def open(self, sha256: str) -> BinaryIO:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
        except Exception as e:
            if _missing(e):
                raise BlobNotFoundError(f"블롭 없음: {sha256} / No such blob: {sha256}") from e
            raise _failed(self.url, e) from e
        return io.BufferedReader(_VerifyingReader(body, check_sha256(sha256)), 1024 * 1024)  # type: ignore[return-value]

    def path(self, sha256: str) -> Path:
        """A local file with the blob's content: a verified copy in ``cache_dir``."""
        s = check_sha256(sha256)
        dest = self.cache_dir / s[:2] / s[2:4] / s
        if not dest.exists():
            self.fetch(s, dest)
        return dest

    def exists(self, sha256: str) -> bool:
        return self._head(self.key(sha256)) is not None

    def size(self, sha256: str) -> int:
        head = self._head(self.key(sha256))
        if head is None:
            raise BlobNotFoundError(f"블롭 없음: {sha256} / No such blob: {sha256}")
        return int(head["ContentLength"])

    def delete(self, sha256: str) -> bool:
        key = self.key(sha256)
        if self._head(key) is None:
            return False
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception as e:
            raise _failed(self.url, e) from e
        s = check_sha256(sha256)
        with contextlib.suppress(FileNotFoundError):
            (self.cache_dir / s[:2] / s[2:4] / s).unlink()
        return True

    def put_ref(self, name: str, sha256: str) -> None:
        body = check_sha256(sha256).encode("ascii")
        try:
            self.client.put_object(Bucket=self.bucket, Key=f"{self.prefix}refs/{check_ref(name)}", Body=body)
        except Exception as e:
            raise _failed(self.url, e) from e

    def get_ref(self, name: str) -> str | None:
        try:
            r = self.client.get_object(Bucket=self.bucket, Key=f"{self.prefix}refs/{check_ref(name)}")
        except Exception as e:
            if _missing(e):
                return None
            raise _failed(self.url, e) from e
        return check_sha256(r["Body"].read().decode("ascii"))
