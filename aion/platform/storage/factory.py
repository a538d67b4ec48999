"""The blob store named by a URL (``AION_STORAGE_URL``): local disk by default, or S3-compatible.

* empty: ``<data dir>/blobs`` on local disk;
* ``file:///srv/aion/blobs``: a local (or mounted) folder;
* ``s3://BUCKET/PREFIX?endpoint_url=http://127.0.0.1:9000&region=ap-northeast-2``: a bucket of
  AWS S3 or any S3-compatible server (MinIO, Ceph); credentials from boto3's usual chain.

>>> store_from_url("", "/tmp/aion-doc").url.endswith("/tmp/aion-doc/blobs")
True
>>> store_from_url("ftp://x")
Traceback (most recent call last):
...
aion.platform.storage.errors.StorageError: 지원하지 않는 저장소 주소: 'ftp://x' ...
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from aion.platform.storage.blobstore import BlobStore, LocalBlobStore
from aion.platform.storage.errors import StorageError

S3_OPTIONS = ("endpoint_url", "region")


def store_from_url(
    url: str | None,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> BlobStore:
    """Open the store ``url`` names; ``data_dir`` is where an empty URL keeps blobs."""
    url = (url or "").strip()
    if not url:
        if data_dir is None:
            raise StorageError("저장소 주소가 없음 / No storage URL and no data directory")
        return LocalBlobStore(Path(data_dir) / "blobs")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise StorageError(
                f"file: 주소는 절대 경로여야 함 (file:///폴더): {url!r} / "
                f"A file: URL needs an absolute path (file:///folder): {url!r}"
            )
        return LocalBlobStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        from aion.platform.storage.s3 import S3BlobStore

        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = sorted(set(query) - set(S3_OPTIONS))
        if unknown:
            raise StorageError(
                f"알 수 없는 S3 옵션: {', '.join(unknown)} (가능: {', '.join(S3_OPTIONS)}) / "
                f"Unknown S3 options: {', '.join(unknown)} (valid: {', '.join(S3_OPTIONS)})"
            )
        return S3BlobStore(
            parts.netloc,
            unquote(parts.path),
            endpoint_url=query.get("endpoint_url"),
            region=query.get("region"),
            cache_dir=cache_dir,
            url=url,
        )
    raise StorageError(
        f"지원하지 않는 저장소 주소: {url!r} (file:///폴더 또는 s3://버킷/접두어) / "
        f"Unsupported storage URL: {url!r} (file:///folder or s3://bucket/prefix)"
    )


_OPEN: dict[str, BlobStore] = {}


def _open(store_url: str) -> BlobStore:
    store = _OPEN.get(store_url)
    if store is None:
        store = _OPEN[store_url] = store_from_url(store_url)
    return store


def fetch_input(store_url: str | None, ref: dict[str, Any], dest: Path) -> Path:
    """In a job's worker: bring one input blob to ``dest`` through the store at ``store_url``.

    ``ref`` is ``{"sha256": ...}`` (a link when the store is on this disk, else a verified
    download, so workers on other machines need no shared data directory); ``{"blob": path}``
    is the form of jobs queued by versions before the store URL was passed.
    """
    if "sha256" in ref and store_url:
        return _open(store_url).fetch(ref["sha256"], dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(ref["blob"], dest)
    except OSError:
        shutil.copyfile(ref["blob"], dest)
    return dest


def publish_outputs(store_url: str | None, ref_prefix: str | None, *files: str | os.PathLike[str]) -> None:
    """In a job's worker: put output files in the store and name them ``<ref_prefix>/<file name>``,
    so that the web process gets them back even when the worker ran on another machine."""
    if not store_url or not ref_prefix:
        return
    store = _open(store_url)
    for f in files:
        if Path(f).exists():
            store.put_ref(f"{ref_prefix}/{Path(f).name}", store.put_file(f).sha256)


def job_output(store: BlobStore, ref_prefix: str | None, path: str | os.PathLike[str]) -> Path | None:
    """In the web process: a job's output file, fetched through the store unless it is already
    here (the same machine); None when the job left no such file."""
    local = Path(path)
    if local.exists():
        return local
    sha = store.get_ref(f"{ref_prefix}/{local.name}") if ref_prefix else None
    if sha is None:
        return None
    return store.fetch(sha, local)
