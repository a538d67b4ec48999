"""Fixtures for the platform tests: executors (local processes and a real local Ray cluster)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aion.platform.compute.executors.base import Executor
from aion.platform.compute.executors.local import LocalExecutor


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """A real local Ray cluster with 2 CPUs, shared by the Ray tests of the session."""
    try:
        import ray
    except ImportError:
        pytest.skip("ray is not installed: pip install ray / Ray 미설치")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ray.init(num_cpus=2, include_dashboard=False, namespace="aion", log_to_driver=False)
    except Exception as e:  # any failure to start means: no Ray here
        pytest.skip(f"a local Ray cluster could not start: {e}")
    yield ray
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
