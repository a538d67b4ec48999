"""Executors run jobs somewhere: local worker processes, or a Ray cluster."""

from __future__ import annotations

import os

from aion.platform.compute.errors import ExecutorError
from aion.platform.compute.executors.base import Executor, RunState, RunStatus

__all__ = ["Executor", "RunState", "RunStatus", "executor_from_address"]


def executor_from_address(address: str | None = None, run_dir: str | None = None) -> Executor:
    """Build the executor named by ``address`` (default: the ``AION_EXECUTOR`` variable).

    ``""``/``"local"`` runs jobs in local worker processes under ``run_dir``;
    ``"ray"`` (a cluster already reachable, or a new local one) or ``"ray://HOST:PORT"`` uses Ray.
    """
    address = (address if address is not None else os.environ.get("AION_EXECUTOR", "")).strip()
    if address in ("", "local"):
        from aion.platform.compute.executors.local import LocalExecutor

        return LocalExecutor(run_dir or os.path.join("aion-data", "runs"))
    if address == "ray" or address.startswith("ray://"):
        from aion.platform.compute.executors.ray_executor import RayExecutor

        log_dir = os.path.join(run_dir or os.path.join("aion-data", "runs"), "ray")
        return RayExecutor(address=None if address == "ray" else address, log_dir=log_dir)
    raise ExecutorError(
        f"알 수 없는 실행기: {address!r} (가능: local, ray, ray://HOST:PORT) / "
        f"Unknown executor: {address!r} (valid: local, ray, ray://HOST:PORT)"
    )
