"""Blob store contract, resumable uploads, and the storage quota hook."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import pytest

from aion.platform.storage.blobstore import BlobStore, LocalBlobStore, MemoryBlobStore
from aion.platform.storage.errors import (
    BlobNotFoundError,
    ChecksumMismatchError,
    StorageError,
    StorageQuotaError,
    UploadError,
)
from aion.platform.storage.factory import fetch_input, job_output, publish_outputs, store_from_url
from aion.platform.storage.quota import InMemoryStorageQuota
from aion.platform.storage.s3 import S3BlobStore
from aion.platform.storage.uploads import UploadManager


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """Every store under one contract; ``s3`` is a bucket on a real S3 server started by the test."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs", chunk_size=1000)
    if request.param == "memory":
        return MemoryBlobStore()
    return store_from_url(request.getfixturevalue("s3_url"), cache_dir=tmp_path / "cache")


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
    assert store.path(info.sha256).read_bytes() == data  # a local file for previews and downloads
    assert store.fetch(info.sha256, tmp_path / "job" / "in.bin").read_bytes() == data
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


def test_resumable_upload_across_a_restart(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(300_000)
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


def test_upload_with_wrong_checksum_stores_nothing(store: BlobStore, tmp_path: Path) -> None:
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


def _objects(store: S3BlobStore) -> list[str]:
    listed = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_s3_store_streams_big_blobs_in_parts_and_stores_nothing_half(s3_url: str, tmp_path: Path) -> None:
    store = store_from_url(s3_url, cache_dir=tmp_path / "cache")
    assert isinstance(store, S3BlobStore)
    store.part_size = 5 * 1024 * 1024  # S3's smallest part
    big = os.urandom(2 * store.part_size + 7)  # three parts
    pieces = (big[i : i + 1_000_000] for i in range(0, len(big), 1_000_000))
    info = store.put_stream(pieces)  # hash unknown: multipart to a temporary key, then copied
    assert (info.sha256, info.size, info.created) == (sha(big), len(big), True)
    assert _objects(store) == [f"tenant-a/blobs/{info.sha256[:2]}/{info.sha256[2:4]}/{info.sha256}"]
    with store.open(info.sha256) as f:
        assert hashlib.sha256(f.read()).hexdigest() == info.sha256
    # announced hash: multipart straight to the final key; a wrong one is aborted, nothing kept
    other = big[::-1]
    with pytest.raises(ChecksumMismatchError):
        store.put_stream(io.BytesIO(other), expected_sha256=sha(b"not this"))
    assert not store.exists(sha(other)) and len(_objects(store)) == 1
    assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []
    assert store.put_stream(io.BytesIO(other), expected_sha256=sha(other)).created is True
    assert store.put_stream(io.BytesIO(other), expected_sha256=sha(other)).created is False  # dedupe

    def failing() -> Any:
        yield big[: store.part_size + 1]
        raise OSError("client went away")

    with pytest.raises(OSError):
        store.put_stream(failing())
    assert len(_objects(store)) == 2  # no temporary object, no pending multipart upload left
    assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


def test_s3_reads_are_verified_against_the_name(s3_url: str, tmp_path: Path) -> None:
    store = store_from_url(s3_url, cache_dir=tmp_path / "cache")
    assert isinstance(store, S3BlobStore)
    info = store.put_stream(io.BytesIO(b"good bytes"))
    store.client.put_object(Bucket=store.bucket, Key=store.key(info.sha256), Body=b"bad bytes!")
    with pytest.raises(ChecksumMismatchError), store.open(info.sha256) as f:
        f.read()
    with pytest.raises(ChecksumMismatchError):
        store.path(info.sha256)
    assert not list((tmp_path / "cache").rglob(info.sha256))  # no corrupt copy cached
    with pytest.raises(BlobNotFoundError):
        store.path(sha(b"never stored"))
    # a job worker on another machine opens the store from its URL alone and fetches its input
    good = store.put_stream(io.BytesIO(b"input image"))
    dest = fetch_input(s3_url, {"sha256": good.sha256}, tmp_path / "work" / "a.png")
    assert dest.read_bytes() == b"input image"


def test_an_unreachable_bucket_is_a_clear_error_at_start(s3_server: str, tmp_path: Path) -> None:
    from aion.platform.runtime import PlatformStorage

    url = f"s3://no-such-bucket/p?endpoint_url={s3_server}"
    with pytest.raises(StorageError, match="S3 bucket not reachable: s3://no-such-bucket/p"):
        PlatformStorage.at(tmp_path / "data", storage_url=url)
    with pytest.raises(StorageError, match="S3 error: s3://no-such-bucket"):
        store_from_url(url).put_stream(io.BytesIO(b"x"))


def test_store_urls_are_checked(tmp_path: Path) -> None:
    local = store_from_url(f"file://{tmp_path}/b")
    assert isinstance(local, LocalBlobStore) and local.root == tmp_path / "b"
    assert store_from_url("", tmp_path).url == (tmp_path / "blobs").resolve().as_uri()
    with pytest.raises(StorageError, match="valid: endpoint_url, region"):
        store_from_url("s3://bucket/p?endpoint=http://x")
    with pytest.raises(StorageError, match="absolute path"):
        store_from_url("file://relative/blobs")
    with pytest.raises(StorageError, match="Unsupported storage URL"):
        store_from_url("gs://bucket")
    with pytest.raises(StorageError, match="bucket"):
        store_from_url("s3:///prefix")


def test_job_outputs_come_back_through_the_store(store: BlobStore, s3_url: str, tmp_path: Path) -> None:
    """A worker on another machine (its own disk) hands its files back by ref; the web process fetches them."""
    url = s3_url if isinstance(store, S3BlobStore) else store.url
    if url == "memory:":
        pytest.skip("a memory store cannot be opened from a URL")
    worker_out = tmp_path / "worker" / "job-outputs" / "abc"
    worker_out.mkdir(parents=True)
    (worker_out / "model.aion").write_bytes(b"weights")
    (worker_out / "model.aion.report.json").write_text("{}")
    publish_outputs(url, "job-outputs/abc", worker_out / "model.aion", worker_out / "model.aion.report.json")
    web_out = tmp_path / "web" / "job-outputs" / "abc" / "model.aion"
    got = job_output(store, "job-outputs/abc", web_out)
    assert got == web_out and web_out.read_bytes() == b"weights"
    assert job_output(store, "job-outputs/abc", web_out.with_name("scores.npz")) is None
    assert store.get_ref("job-outputs/none/model.aion") is None
    with pytest.raises(StorageError, match="Bad ref name"):
        store.put_ref("../escape", sha(b"weights"))
