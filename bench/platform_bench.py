"""Platform benchmark: the scheduler simulation and a 2 GB resumable upload to local disk.

Prints one JSON object and a short table; targets from the issue:

* ``decision_ms_p99`` < 100 ms (one scheduling decision with 1,000 jobs queued) and
  ``max_share_error`` < 0.05 (largest gap between a company's share of compute and its weight);
* upload >= 100 MB/s to local disk through :class:`~aion.platform.storage.uploads.UploadManager`
  (8 MiB chunks, as the browser sends them), in constant memory (peak RSS grows by about a chunk,
  not by the file size).

Usage: ``python bench/platform_bench.py [--upload-mb 2048] [--dir /tmp] [--http-mb 256] [--s3-mb 256]``.
``--http-mb`` also sends a file through the real web API (uvicorn, HTTP PUT per chunk);
``--s3-mb`` streams a blob into an S3-compatible store and back (``--s3-url s3://BUCKET/PREFIX?endpoint_url=...``,
by default a moto server started in its own process, so this process's memory is the client's).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

CHUNK = 8 * 1024 * 1024


class RssSampler:
    """Samples this process's resident memory every few milliseconds; reports the peak."""

    def __init__(self, every_s: float = 0.01) -> None:
        self.proc = psutil.Process()
        self.every_s = every_s
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self.stop_ = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop_.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.every_s)

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_.set()
        self.thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def chunks(total: int) -> Any:
    """Deterministic pseudo-random chunks (distinct content, generated without holding the file)."""
    block = bytearray(random.Random(0).randbytes(CHUNK))
    sent = 0
    n = 0
    while sent < total:
        size = min(CHUNK, total - sent)
        block[:8] = n.to_bytes(8, "little")
        yield bytes(block[:size]) if size < CHUNK else bytes(block)
        sent += size
        n += 1


def bench_upload(total_mb: int, root: Path) -> dict[str, Any]:
    from aion.platform.storage.blobstore import LocalBlobStore
    from aion.platform.storage.uploads import UploadManager

    total = total_mb * 1024 * 1024
    store = LocalBlobStore(root / "blobs")
    uploads = UploadManager(store, root / "uploads")
    expected = hashlib.sha256()
    for c in chunks(total):  # reference hash (not timed): the client announces it
        expected.update(c)
    with RssSampler() as rss:
        t0 = time.perf_counter()
        s = uploads.create("bench", size=total, sha256=expected.hexdigest(), filename="big.bin")
        offset = 0
        for c in chunks(total):
            offset = uploads.write(s.upload_id, offset, c)
        t_write = time.perf_counter() - t0
        info = uploads.finalize(s.upload_id)
        seconds = time.perf_counter() - t0
    assert info.size == total and store.exists(info.sha256)
    return {
        "upload_mb": total_mb,
        "upload_seconds": round(seconds, 2),
        "upload_mb_per_s": round(total_mb / seconds, 1),
        "upload_write_mb_per_s": round(total_mb / t_write, 1),
        "upload_peak_rss_growth_mb": round((rss.peak - rss.base) / 1024**2, 1),
        "upload_rss_base_mb": round(rss.base / 1024**2, 1),
    }


def bench_s3(total_mb: int, url: str | None, root: Path) -> dict[str, Any]:
    """Stream a blob of unknown hash into the S3 store (multipart, then a server-side copy) and back."""
    import socket
    import subprocess
    import sys

    from aion.platform.storage.factory import store_from_url

    server = None
    if not url:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.2)
        import boto3

        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
        url = f"s3://bench/aion?endpoint_url={endpoint}"
    try:
        store = store_from_url(url, cache_dir=root / "cache")
        total = total_mb * 1024 * 1024
        with RssSampler() as rss:
            t0 = time.perf_counter()
            info = store.put_stream(chunks(total))
            t_put = time.perf_counter() - t0
            t1 = time.perf_counter()
            store.fetch(info.sha256, root / "back.bin")  # streamed and verified against the name
            t_get = time.perf_counter() - t1
        assert info.size == total and (root / "back.bin").stat().st_size == total
        return {
            "s3_mb": total_mb,
            "s3_put_mb_per_s": round(total_mb / t_put, 1),
            "s3_fetch_mb_per_s": round(total_mb / t_get, 1),
            "s3_peak_rss_growth_mb": round((rss.peak - rss.base) / 1024**2, 1),
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)


def bench_http(total_mb: int, root: Path) -> dict[str, Any]:
    """The same through the web API: a real uvicorn server, one PUT per 8 MiB chunk."""
    import httpx
    from appserver import EMAIL, PASSWORD, start, stop

    app = start(root)
    base = app.base
    total = total_mb * 1024 * 1024
    try:
        with httpx.Client(base_url=base, timeout=120) as http:
            http.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD})
            ds = http.post("/api/datasets", json={"name": "bench", "kind": "tabular"}).json()
            t0 = time.perf_counter()
            up = http.post(
                f"/api/datasets/{ds['id']}/uploads", json={"filename": "big.bin", "size": total}
            ).json()
            offset = 0
            for c in chunks(total):
                r = http.put(
                    f"/api/uploads/{up['upload_id']}",
                    params={"offset": offset},
                    content=c,
                    headers={
                        "content-type": "application/octet-stream",
                        "x-csrf-token": http.cookies.get("aion_csrf", ""),
                    },
                )
                r.raise_for_status()
                offset = r.json()["offset"]
            seconds = time.perf_counter() - t0
    finally:
        stop(app, timeout=20)
    return {"http_upload_mb": total_mb, "http_upload_mb_per_s": round(total_mb / seconds, 1)}


def bench_scheduler() -> dict[str, Any]:
    from aion.platform.compute.simulator import SimConfig, simulate

    r = simulate(SimConfig(companies=50, jobs=1000, hours=24.0, seed=7, queue_size=1000))
    return {
        "decision_ms_p99": round(r.decision_ms_p99, 3),
        "max_share_error": round(r.max_share_error, 4),
        "companies_with_enough_demand": r.companies_with_enough_demand,
        "jobs_completed": r.jobs_completed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upload-mb", type=int, default=2048)
    ap.add_argument("--http-mb", type=int, default=0)
    ap.add_argument("--s3-mb", type=int, default=0)
    ap.add_argument(
        "--s3-url", default=None, help="s3://BUCKET/PREFIX?endpoint_url=... (default: a local moto)"
    )
    ap.add_argument("--dir", default=None, help="Where to write (default: a temporary folder)")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aion-bench-", dir=args.dir))
    try:
        out: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}
        out.update(bench_upload(args.upload_mb, root / "direct"))
        shutil.rmtree(root / "direct", ignore_errors=True)
        if args.http_mb:
            out.update(bench_http(args.http_mb, root / "http"))
        if args.s3_mb:
            (root / "s3").mkdir()
            out.update(bench_s3(args.s3_mb, args.s3_url, root / "s3"))
        out.update(bench_scheduler())
        out["targets_met"] = {
            "decision_ms_p99<100": out["decision_ms_p99"] < 100,
            "max_share_error<0.05": out["max_share_error"] < 0.05,
            "upload>=100MB/s": out["upload_mb_per_s"] >= 100,
            "constant_memory(<64MB growth)": out["upload_peak_rss_growth_mb"] < 64,
        }
        print(json.dumps(out, indent=2))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
