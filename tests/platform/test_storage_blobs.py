"""Blob store contract, resumable uploads, and the storage quota hook."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from aion.platform.storage.blobstore import BlobStore, LocalBlobStore, MemoryBlobStore
from aion.platform.storage.errors import (
    BlobNotFoundError,
    ChecksumMismatchError,
    StorageError,
    StorageQuotaError,
    UploadError,
)
from aion.platform.storage.quota import InMemoryStorageQuota
from aion.platform.storage.uploads import UploadManager

STORES: list[Callable[[Path], BlobStore]] = [
    lambda p: LocalBlobStore(p / "blobs", chunk_size=1000),
    lambda p: MemoryBlobStore(),
]


@pytest.fixture(params=STORES, ids=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return request.param(tmp_path)  # type: ignore[no-any-return]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_blob_store_contract(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(5000)
    info = store.put_stream(io.BytesIO(data))
    assert (info.sha256, info.size, info.created) == (sha(data), 5000, True)
    assert store.put_stream([data[:10], data[10:]]).created is False  # dedup by content
    assert store.exists(info.sha256) and store.size(info.sha256) == 5000
    with store.open(info.sha256) as f:
        assert f.read() == data
    with pytest.raises(ChecksumMismatchError, match="expected"):
        store.put_stream(io.BytesIO(b"other"), expected_sha256=sha(b"different"))
    assert not store.exists(sha(b"other"))  # nothing stored on a wrong checksum
    src = tmp_path / "f.bin"
    src.write_bytes(b"from a file")
    moved = store.put_file(src, sha(b"from a file"), move=True)
    assert moved.size == 11 and not src.exists()
    assert store.delete(info.sha256) is True and store.delete(info.sha256) is False
    with pytest.raises(BlobNotFoundError):
        store.open(info.sha256)
    with pytest.raises(StorageError, match="64 hex"):
        store.exists("../../etc/passwd")


def test_local_store_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "s", chunk_size=7)
    store.put_stream(io.BytesIO(b"x" * 100))
    with pytest.raises(ChecksumMismatchError):
        store.put_stream(io.BytesIO(b"y" * 100), expected_sha256="0" * 64)

    def broken() -> list[bytes]:
        raise OSError("disk went away")

    with pytest.raises(OSError):
        store.put_stream(iter([b"a", b"b"] + broken()))
    assert list((tmp_path / "s" / "tmp").iterdir()) == []


def test_resumable_upload_across_a_restart(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    store = LocalBlobStore(tmp_path / "blobs")
    up = UploadManager(store, tmp_path / "staging", chunk_size=4096)
    s = up.create("acme", size=len(data), sha256=sha(data), filename="images.zip")
    assert up.write(s.upload_id, 0, data[:100_000]) == 100_000
    with pytest.raises(UploadError, match="resume from 100000"):
        up.write(s.upload_id, 250_000, data[250_000:])
    # the server restarts: a new manager finds the upload and its offset on disk
    up2 = UploadManager(store, tmp_path / "staging", chunk_size=4096)
    assert up2.status(s.upload_id).offset == 100_000
    with pytest.raises(UploadError, match="incomplete"):
        up2.finalize(s.upload_id)
    up2.write(s.upload_id, 100_000, io.BytesIO(data[100_000:]))
    info = up2.finalize(s.upload_id)
    assert info.sha256 == sha(data) and info.size == len(data)
    with store.open(info.sha256) as f:
        assert f.read() == data
    assert list((tmp_path / "staging").iterdir()) == []
    with pytest.raises(UploadError, match="No such upload"):
        up2.status(s.upload_id)


def test_upload_with_wrong_checksum_stores_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    up = UploadManager(store, tmp_path / "staging")
    s = up.create("acme")
    up.write(s.upload_id, 0, b"corrupted in transit")
    with pytest.raises(ChecksumMismatchError, match="discarded"):
        up.finalize(s.upload_id, sha(b"what the browser sent"))
    assert not store.exists(sha(b"corrupted in transit"))
    assert list((tmp_path / "staging").iterdir()) == []
    with pytest.raises(UploadError):
        up.create("acme", size=-1)
    with pytest.raises(UploadError, match="Bad upload id"):
        up.status("../../etc")


def test_chunk_beyond_the_declared_size_is_refused_whole(tmp_path: Path) -> None:
    up = UploadManager(LocalBlobStore(tmp_path / "b"), tmp_path / "staging", chunk_size=3)
    s = up.create("acme", size=5)
    with pytest.raises(UploadError, match="exceeds its size"):
        up.write(s.upload_id, 0, b"123456")
    assert up.status(s.upload_id).offset == 0  # the partial chunk was dropped
    assert up.write(s.upload_id, 0, b"12345") == 5
    assert up.finalize(s.upload_id).size == 5


def test_storage_quota_is_checked_and_charged_once_per_blob(tmp_path: Path) -> None:
    quota = InMemoryStorageQuota(limits={"acme": 1000})
    up = UploadManager(LocalBlobStore(tmp_path / "b"), tmp_path / "staging", quota=quota)
    with pytest.raises(StorageQuotaError, match="acme"):
        up.create("acme", size=1001)
    for _ in range(2):  # the same file twice: charged once
        s = up.create("acme", size=600, sha256=sha(b"a" * 600))
        up.write(s.upload_id, 0, b"a" * 600)
        up.finalize(s.upload_id)
    assert quota.used("acme") == 600
    s = up.create("acme")  # size unknown: checked as bytes arrive
    with pytest.raises(StorageQuotaError):
        up.write(s.upload_id, 0, b"b" * 500)
    assert up.status(s.upload_id).offset == 0
    assert quota.used("other") == 0 and quota.limit("other") is None
