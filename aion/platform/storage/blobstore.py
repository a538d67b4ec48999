"""Blobs named by their SHA-256: written in chunks, constant memory, atomic, deduplicated.

>>> import io, tempfile
>>> store = LocalBlobStore(tempfile.mkdtemp())
>>> info = store.put_stream(io.BytesIO(b"hello"))
>>> info.sha256[:12], info.size, info.created
('2cf24dba5fb0', 5, True)
>>> store.put_stream(io.BytesIO(b"hello")).created  # same content: stored once
False
>>> with store.open(info.sha256) as f:
...     f.read()
b'hello'
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

from aion.platform.storage.errors import BlobNotFoundError, ChecksumMismatchError, StorageError

CHUNK = 4 * 1024 * 1024
_SHA = re.compile(r"^[0-9a-f]{64}$")
_REF = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")


class BlobInfo(NamedTuple):
    sha256: str
    size: int
    created: bool  # False when the content was already stored (deduplicated)


def check_sha256(sha256: str) -> str:
    """Normalise and validate a hex SHA-256."""
    s = sha256.strip().lower()
    if not _SHA.match(s):
        raise StorageError(
            f"잘못된 SHA-256: {sha256!r} (16진수 64자) / Bad SHA-256: {sha256!r} (64 hex chars)"
        )
    return s


def check_ref(name: str) -> str:
    """Validate a ref name: lower-case path segments, no ``..``, no leading slash."""
    if not _REF.match(name) or ".." in name or len(name) > 300:
        raise StorageError(
            f"잘못된 참조 이름: {name!r} (소문자, 숫자, . _ - /) / Bad ref name: {name!r} (a-z 0-9 . _ - /)"
        )
    return name


def hash_file(path: str | os.PathLike[str], chunk_size: int = CHUNK) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            h.update(block)
    return h.hexdigest()


def iter_chunks(source: BinaryIO | Iterable[bytes], chunk_size: int = CHUNK) -> Iterator[bytes]:
    """Yield a stream or an iterable of byte strings in pieces of at most ``chunk_size``."""
    if hasattr(source, "read"):
        while True:
            block = source.read(chunk_size)  # type: ignore[union-attr]
            if not block:
                return
            yield block
    else:
        for block in source:  # type: ignore[union-attr]
            for i in range(0, len(block), chunk_size):
                yield block[i : i + chunk_size]


class BlobStore(ABC):
    """A few verbs over immutable blobs, on local disk or in an S3-compatible bucket.

    ``url`` says where the store is, so that a job's worker, on any machine, opens the same
    store (:func:`aion.platform.storage.factory.store_from_url`) and fetches its inputs itself.
    """

    url: str = ""

    @abstractmethod
    def put_stream(self, source: BinaryIO | Iterable[bytes], expected_sha256: str | None = None) -> BlobInfo:
        """Store the bytes; raises :class:`ChecksumMismatchError` (storing nothing) on a wrong hash."""

    def put_file(
        self, path: str | os.PathLike[str], expected_sha256: str | None = None, move: bool = False
    ) -> BlobInfo:
        """Store a file's content; ``move`` lets a backend take the file over instead of copying."""
        with open(path, "rb") as f:
            info = self.put_stream(f, expected_sha256)
        if move:
            os.unlink(path)
        return info

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """A readable binary stream of the blob; raises :class:`BlobNotFoundError`."""

    def check(self) -> None:
        """Raise :class:`StorageError` unless the store answers (a remote one; local ones always do)."""
        return None

    @abstractmethod
    def path(self, sha256: str) -> Path:
        """A local file with the blob's content (the stored file itself, or a verified cached copy)."""

    def fetch(self, sha256: str, dest: str | os.PathLike[str]) -> Path:
        """Write the blob to ``dest`` (streamed, verified, renamed into place); returns ``dest``."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            h = hashlib.sha256()
            with self.open(sha256) as src, open(tmp, "wb") as out:
                for block in iter_chunks(src):
                    h.update(block)
                    out.write(block)
            if h.hexdigest() != check_sha256(sha256):
                raise ChecksumMismatchError(
                    f"체크섬 불일치: 기대 {sha256}, 실제 {h.hexdigest()} / "
                    f"Checksum mismatch: expected {sha256}, got {h.hexdigest()}"
                )
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return dest

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def put_ref(self, name: str, sha256: str) -> None:
        """Name a blob (e.g. ``job-outputs/<id>/model.aion``): how a job's worker on another
        machine hands its output files back. Refs are small and may be overwritten."""

    @abstractmethod
    def get_ref(self, name: str) -> str | None:
        """The SHA-256 a ref names, or None."""

    @abstractmethod
    def size(self, sha256: str) -> int: ...

    @abstractmethod
    def delete(self, sha256: str) -> bool:
        """Remove the blob; returns whether it existed."""


class LocalBlobStore(BlobStore):
    """Blobs under ``root/blobs/ab/cd/<sha256>``; writes go to ``root/tmp`` and are renamed in."""

    def __init__(self, root: str | os.PathLike[str], chunk_size: int = CHUNK, fsync: bool = True) -> None:
        self.root = Path(root)
        self.url = self.root.resolve().as_uri()
        self.chunk_size = chunk_size
        self.fsync = fsync
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        s = check_sha256(sha256)
        return self.root / "blobs" / s[:2] / s[2:4] / s

    def fetch(self, sha256: str, dest: str | os.PathLike[str]) -> Path:
        """A hard link to the stored file when on the same file system, else a copy."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        src = self.path(sha256)
        try:
            os.link(src, dest)
        except FileNotFoundError as e:
            raise BlobNotFoundError(f"블롭 없음: {sha256} / No such blob: {sha256}") from e
        except OSError:
            return super().fetch(sha256, dest)
        return dest

    def temp_path(self) -> Path:
        """A fresh path on the same file system as the blobs (for staging and atomic renames)."""
        return self.root / "tmp" / uuid.uuid4().hex

    def put_stream(self, source: BinaryIO | Iterable[bytes], expected_sha256: str | None = None) -> BlobInfo:
        tmp = self.temp_path()
        h = hashlib.sha256()
        size = 0
        try:
            with open(tmp, "wb") as out:
                for block in iter_chunks(source, self.chunk_size):
                    h.update(block)
                    out.write(block)
                    size += len(block)
                if self.fsync:
                    out.flush()
                    os.fsync(out.fileno())
            return self._commit(tmp, h.hexdigest(), size, expected_sha256)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def put_file(
        self, path: str | os.PathLike[str], expected_sha256: str | None = None, move: bool = False
    ) -> BlobInfo:
        src = Path(path)
        if not move or os.stat(src).st_dev != os.stat(self.root).st_dev:
            return super().put_file(src, expected_sha256, move)
        h = hashlib.sha256()
        size = 0
        with open(src, "rb") as f:
            for block in iter_chunks(f, self.chunk_size):
                h.update(block)
                size += len(block)
        try:
            return self._commit(src, h.hexdigest(), size, expected_sha256)
        finally:
            with contextlib.suppress(FileNotFoundError):
                src.unlink()

    def commit_hashed(
        self, src: Path, sha256: str, size: int, expected_sha256: str | None = None
    ) -> BlobInfo:
        """Rename an already hashed file on this file system into the store (no copy, no re-read)."""
        try:
            return self._commit(src, sha256, size, expected_sha256)
        finally:
            with contextlib.suppress(FileNotFoundError):
                src.unlink()

    def _commit(self, src: Path, sha256: str, size: int, expected_sha256: str | None) -> BlobInfo:
        if expected_sha256 is not None and check_sha256(expected_sha256) != sha256:
            raise ChecksumMismatchError(
                f"체크섬 불일치: 기대 {expected_sha256}, 실제 {sha256} / "
                f"Checksum mismatch: expected {expected_sha256}, got {sha256}"
            )
        dest = self.path(sha256)
        if dest.exists():
            return BlobInfo(sha256, size, created=False)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dest)  # atomic on one file system: readers see all or nothing
        with contextlib.suppress(OSError):
            os.chmod(dest, 0o444)
        return BlobInfo(sha256, size, created=True)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self.path(sha256), "rb")
        except FileNotFoundError as e:
            raise BlobNotFoundError(f"블롭 없음: {sha256} / No such blob: {sha256}") from e

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def size(self, sha256: str) -> int:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError as e:
            raise BlobNotFoundError(f"블롭 없음: {sha256} / No such blob: {sha256}") from e

    def delete(self, sha256: str) -> bool:
        try:
            self.path(sha256).unlink()
            return True
        except FileNotFoundError:
            return False

    def put_ref(self, name: str, sha256: str) -> None:
        dest = self.root / "refs" / check_ref(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.temp_path()
        tmp.write_text(check_sha256(sha256), encoding="ascii")
        os.replace(tmp, dest)

    def get_ref(self, name: str) -> str | None:
        try:
            return (self.root / "refs" / check_ref(name)).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None


class MemoryBlobStore(BlobStore):
    """Blobs in a dict: for tests and tiny demos (holds everything in memory, by design)."""

    def __init__(self) -> None:
        self.blobs_: dict[str, bytes] = {}
        self.url = "memory:"
        self.refs_: dict[str, str] = {}
        self.cache_: Path | None = None

    def path(self, sha256: str) -> Path:
        import tempfile

        if self.cache_ is None:
            self.cache_ = Path(tempfile.mkdtemp(prefix="aion-memblobs-"))
        return self.fetch(sha256, self.cache_ / check_sha256(sha256))

    def put_stream(self, source: BinaryIO | Iterable[bytes], expected_sha256: str | None = None) -> BlobInfo:
        h = hashlib.sha256()
        parts = []
        for block in iter_chunks(source):
            h.update(block)
            parts.append(block)
        sha = h.hexdigest()
        if expected_sha256 is not None and check_sha256(expected_sha256) != sha:
            raise ChecksumMismatchError(
                f"체크섬 불일치: 기대 {expected_sha256}, 실제 {sha} / "
                f"Checksum mismatch: expected {expected_sha256}, got {sha}"
            )
        data = b"".join(parts)
        created = sha not in self.blobs_
        self.blobs_.setdefault(sha, data)
        return BlobInfo(sha, len(data), created)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return io.BytesIO(self.blobs_[check_sha256(sha256)])
        except KeyError as e:
            raise BlobNotFoundError(f"블롭 없음: {sha256} / No such blob: {sha256}") from e

    def exists(self, sha256: str) -> bool:
        return check_sha256(sha256) in self.blobs_

    def size(self, sha256: str) -> int:
        with self.open(sha256) as f:
            return len(f.getvalue())  # type: ignore[attr-defined]

    def delete(self, sha256: str) -> bool:
        return self.blobs_.pop(check_sha256(sha256), None) is not None

    def put_ref(self, name: str, sha256: str) -> None:
        self.refs_[check_ref(name)] = check_sha256(sha256)

    def get_ref(self, name: str) -> str | None:
        return self.refs_.get(check_ref(name))
