"""Resumable chunked uploads: create, write chunks at an offset, finalize with a checksum.

State lives on disk next to the partial data (``<staging>/<upload_id>.json`` and ``.part``), so
an upload resumes after a browser reload or a server restart: the client asks :meth:`status`
for the offset and sends the rest. Memory stays constant: chunks are streamed to the file in
pieces, and the SHA-256 is updated as bytes arrive (recomputed from the file only if the
process restarted mid-upload). :meth:`finalize` checks size and checksum, then renames the file
into the blob store; on any failure nothing is stored.

>>> import io, tempfile, hashlib
>>> from aion.platform.storage.blobstore import LocalBlobStore
>>> root = tempfile.mkdtemp()
>>> up = UploadManager(LocalBlobStore(root + "/blobs"), root + "/staging")
>>> s = up.create("acme", size=10, filename="a.bin")
>>> up.write(s.upload_id, 0, io.BytesIO(b"01234"))
5
>>> up.write(s.upload_id, 5, io.BytesIO(b"56789"))
10
>>> up.finalize(s.upload_id, hashlib.sha256(b"0123456789").hexdigest()).size
10
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aion.platform.storage.blobstore import (
    CHUNK,
    BlobInfo,
    BlobStore,
    LocalBlobStore,
    check_sha256,
    iter_chunks,
)
from aion.platform.storage.errors import ChecksumMismatchError, UploadError
from aion.platform.storage.quota import StorageQuota

_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class UploadSession:
    upload_id: str
    company_id: str
    offset: int
    size: int | None
    sha256: str | None
    filename: str
    created_at: float


class UploadManager:
    """Resumable uploads into a :class:`BlobStore`, with an optional per-company quota."""

    def __init__(
        self,
        store: BlobStore,
        staging_dir: str | os.PathLike[str],
        quota: StorageQuota | None = None,
        max_size: int | None = None,
        chunk_size: int = CHUNK,
    ) -> None:
        self.store = store
        self.staging_dir = Path(staging_dir)
        self.quota = quota
        self.max_size = max_size
        self.chunk_size = chunk_size
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self.hashers_: dict[str, tuple[int, hashlib._Hash]] = {}  # upload id -> (offset, running hash)

    # ------------------------------------------------------------------ state on disk
    def _paths(self, upload_id: str) -> tuple[Path, Path]:
        if not _ID.match(upload_id):
            raise UploadError(f"잘못된 업로드 ID: {upload_id!r} / Bad upload id: {upload_id!r}")
        return self.staging_dir / f"{upload_id}.json", self.staging_dir / f"{upload_id}.part"

    def _save(self, s: UploadSession) -> None:
        meta, _ = self._paths(s.upload_id)
        tmp = meta.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(s)), encoding="utf-8")
        os.replace(tmp, meta)

    def status(self, upload_id: str) -> UploadSession:
        """The upload's state; ``offset`` is where the next chunk must start."""
        meta, part = self._paths(upload_id)
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise UploadError(f"업로드 없음: {upload_id} / No such upload: {upload_id}") from e
        data["offset"] = part.stat().st_size if part.exists() else 0
        return UploadSession(**data)

    # ------------------------------------------------------------------ the protocol
    def create(
        self, company_id: str, size: int | None = None, sha256: str | None = None, filename: str = ""
    ) -> UploadSession:
        """Open an upload; with a known ``size`` the quota is checked up front."""
        if size is not None and size < 0:
            raise UploadError(f"잘못된 크기: {size} / Bad size: {size}")
        if size is not None and self.max_size is not None and size > self.max_size:
            raise UploadError(
                f"파일이 너무 큼: {size} > {self.max_size} / File too large: {size} > {self.max_size}"
            )
        known = (
            sha256 is not None
            and self.quota is not None
            and self.quota.holds(company_id, check_sha256(sha256))
        )
        if size is not None and self.quota is not None and not known:
            self.quota.check(company_id, size)
        s = UploadSession(
            upload_id=uuid.uuid4().hex,
            company_id=company_id,
            offset=0,
            size=size,
            sha256=check_sha256(sha256) if sha256 else None,
            filename=filename,
            created_at=time.time(),
        )
        self._paths(s.upload_id)[1].touch()
        self._save(s)
        self.hashers_[s.upload_id] = (0, hashlib.sha256())
        return s

    def write(self, upload_id: str, offset: int, data: BinaryIO | Iterable[bytes] | bytes) -> int:
        """Append a chunk that starts at ``offset``; returns the new offset.

        A chunk that does not start at the current offset is refused with the offset to resume
        from (a chunk that was already fully received is accepted again and changes nothing).
        """
        s = self.status(upload_id)
        _, part = self._paths(upload_id)
        if isinstance(data, bytes | bytearray | memoryview):
            data = [bytes(data)]
        if offset != s.offset:
            raise UploadError(
                f"오프셋 불일치: {offset}, 현재 {s.offset}에서 이어서 보내세요 / "
                f"Offset mismatch: got {offset}, resume from {s.offset}"
            )
        cached = self.hashers_.get(upload_id)
        h = cached[1] if cached is not None and cached[0] == s.offset else None
        pos = s.offset
        limit = s.size if s.size is not None else self.max_size
        try:
            with open(part, "r+b") as out:
                out.seek(pos)
                for block in iter_chunks(data, self.chunk_size):
                    if limit is not None and pos + len(block) > limit:
                        raise UploadError(
                            f"선언한 크기를 넘음: {pos + len(block)} > {limit} / "
                            f"Upload exceeds its size: {pos + len(block)} > {limit}"
                        )
                    if self.quota is not None and s.size is None:
                        self.quota.check(s.company_id, pos + len(block))
                    out.write(block)
                    if h is not None:
                        h.update(block)
                    pos += len(block)
        except BaseException:
            with open(part, "r+b") as out:  # drop the partial chunk: the client resends it whole
                out.truncate(s.offset)
            if h is not None:
                self.hashers_.pop(upload_id, None)
            raise
        if h is not None:
            self.hashers_[upload_id] = (pos, h)
        return pos

    def finalize(self, upload_id: str, sha256: str | None = None) -> BlobInfo:
        """Check size and checksum, move the data into the store, charge the quota."""
        s = self.status(upload_id)
        meta, part = self._paths(upload_id)
        expected = check_sha256(sha256) if sha256 else s.sha256
        if s.size is not None and s.offset != s.size:
            raise UploadError(
                f"업로드 미완료: {s.offset}/{s.size} bytes / Upload incomplete: {s.offset}/{s.size} bytes"
            )
        cached = self.hashers_.pop(upload_id, None)
        if cached is not None and cached[0] == s.offset:
            digest = cached[1].hexdigest()
        else:
            h = hashlib.sha256()
            with open(part, "rb") as f:
                for block in iter_chunks(f, self.chunk_size):
                    h.update(block)
            digest = h.hexdigest()
        if expected is not None and expected != digest:
            self.abort(upload_id)
            raise ChecksumMismatchError(
                f"체크섬 불일치: 기대 {expected}, 실제 {digest} (업로드 폐기) / "
                f"Checksum mismatch: expected {expected}, got {digest} (upload discarded)"
            )
        if self.quota is not None and not self.quota.holds(s.company_id, digest):
            self.quota.check(s.company_id, s.offset)
        if isinstance(self.store, LocalBlobStore) and os.stat(part).st_dev == os.stat(self.store.root).st_dev:
            info = self.store.commit_hashed(part, digest, s.offset)
        else:
            info = self.store.put_file(part, digest, move=True)
        if self.quota is not None:
            self.quota.charge(s.company_id, info.sha256, info.size)
        meta.unlink(missing_ok=True)
        return info

    def abort(self, upload_id: str) -> None:
        """Forget an upload and delete its partial data."""
        meta, part = self._paths(upload_id)
        self.hashers_.pop(upload_id, None)
        for p in (part, meta):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def expire(self, older_than_s: float) -> int:
        """Abort uploads created more than ``older_than_s`` ago; returns how many."""
        n = 0
        now = time.time()
        for meta in self.staging_dir.glob("*.json"):
            s = self.status(meta.stem)
            if now - s.created_at > older_than_s:
                self.abort(s.upload_id)
                n += 1
        return n
