"""Fixtures for the platform tests: executors (local processes and a real local Ray cluster)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aion.platform.compute.executors.base import Executor
from aion.platform.compute.executors.local import LocalExecutor
from tests.raygroup import on_ray

S3_TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def ray_cluster() -> Any:
    """A real local Ray cluster with 2 CPUs, started for the first Ray test and shared by those
    that follow it (they share one pytest-xdist worker and run one after another); stopped after
    the last, so that its processes do not idle beside the rest of the suite."""
    try:
        import ray
    except ImportError:
        pytest.skip("ray is not installed: pip install ray / Ray 미설치")
    if ray.is_initialized():
        return ray
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ray.init(
                num_cpus=2,
                include_dashboard=False,
                namespace="aion",
                log_to_driver=False,
                # the cluster's machines have credentials for the S3 store (the test server's)
                runtime_env={"env_vars": dict(S3_TEST_CREDENTIALS)},
            )
    except Exception as e:  # any failure to start means: no Ray here
        pytest.skip(f"a local Ray cluster could not start: {e}")
    return ray


@pytest.hookimpl(trylast=True)  # after the test's fixtures are torn down (the executor's uses Ray)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized() and not on_ray(nextitem):
        ray.shutdown()


@pytest.fixture(params=["local", "ray"])
def executor(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Executor]:
    """Each executor under the same tests; a 2-CPU node either way."""
    if request.param == "local":
        ex: Executor = LocalExecutor(tmp_path / "runs", cpus=2, grace_s=2.0)
        yield ex
        assert isinstance(ex, LocalExecutor)
        for handle in list(ex.procs_):
            ex.cancel(handle)
            ex.release(handle)
    else:
        request.getfixturevalue("ray_cluster")
        from aion.platform.compute.executors.ray_executor import RayExecutor

        ex = RayExecutor(log_dir=tmp_path / "ray-logs")
        yield ex
        import ray

        for info in ray.util.list_named_actors(all_namespaces=True):
            if info["name"].startswith("aion-run-"):
                ray.kill(ray.get_actor(info["name"], namespace=info["namespace"]), no_restart=True)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real S3-compatible HTTP server (moto) on a free local port; yields its endpoint URL."""
    import os
    import socket

    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed / moto 미설치")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    saved = {
        k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(S3_TEST_CREDENTIALS)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def s3_url(s3_server: str) -> str:
    """A fresh bucket on the test S3 server, as an ``AION_STORAGE_URL``."""
    import uuid

    import boto3

    bucket = f"aion-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/tenant-a?endpoint_url={s3_server}"


@pytest.fixture
def storage(tmp_path: Path) -> Any:
    """A data directory's storage (blobs, uploads, staging) under the test's folder."""
    from aion.platform.runtime import PlatformStorage

    return PlatformStorage.at(tmp_path / "data")


@pytest.fixture
def member(engine: Any, world: Any) -> Iterator[Any]:
    """A session of company A's member (rolled back afterwards)."""
    from tests.platform.helpers import scoped

    s = scoped(engine, world)
    yield s
    s.rollback()
    s.close()
