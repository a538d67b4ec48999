"""Runs each attempt as a detached Ray actor holding the requested CPUs and GPUs.

The actor is named after the run's handle in the ``aion`` namespace and outlives the driver,
so a restarted web server reconnects to the cluster and finds its runs again by name
(:meth:`RayExecutor.reconcile`). The job runs in a thread of the actor; logs, progress and
metrics are kept in the actor and fetched by :meth:`poll` and :meth:`logs`. Placement on the
node chosen by our scheduler uses Ray's node affinity; Ray itself only enforces resources,
quotas and fair share are ours (Ray has none for multi-tenant clusters).

``ray`` is an optional dependency; this module imports it when the executor is built.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aion.platform.compute.context import JobContext, run_entrypoint
from aion.platform.compute.errors import ExecutorError
from aion.platform.compute.executors.base import Executor, RunState, RunStatus
from aion.platform.compute.jobs import Job
from aion.platform.compute.policy import Node

NAMESPACE = "aion"


class JobRunner:
    """The actor body: runs one job in a thread and keeps what it reports."""

    def __init__(self, entrypoint: str, params: Mapping[str, Any]) -> None:
        self.entrypoint = entrypoint
        self.params = dict(params)
        self.lines_: list[str] = []
        self.status_: dict[str, Any] = {"state": "running", "progress": 0.0, "message": "", "metrics": {}}
        self.stop_ = False
        self.thread_ = threading.Thread(target=self._run, daemon=True)
        self.thread_.start()

    def _emit(self, event: dict[str, Any]) -> None:
        if event["t"] == "log":
            self.lines_.append(event["line"])
        elif event["t"] == "progress":
            self.status_["progress"] = event["value"]
            self.status_["message"] = event["message"]
        elif event["t"] == "metric":
            self.status_["metrics"][event["name"]] = event["value"]

    def _run(self) -> None:
        ctx = JobContext(self._emit, should_stop=lambda: self.stop_)
        try:
            metrics = run_entrypoint(self.entrypoint, self.params, ctx)
            self.status_["metrics"].update(metrics)
            self.status_.update(state="succeeded", progress=1.0)
        except Exception as e:  # the job's own failure, reported to the caller
            self.lines_.append(f"{type(e).__name__}: {e}")
            self.status_.update(state="failed", error=f"{type(e).__name__}: {e}")

    def status(self) -> dict[str, Any]:
        return dict(self.status_, metrics=dict(self.status_["metrics"]))

    def logs(self, since: int) -> list[str]:
        return self.lines_[since:]

    def stop(self) -> None:
        self.stop_ = True


class RayExecutor(Executor):
    """Jobs on a Ray cluster: ``address`` is ``ray://HOST:PORT``, or ``None`` for the current/local one."""

    def __init__(
        self,
        address: str | None = None,
        log_dir: str | os.PathLike[str] = "aion-data/runs/ray",
        timeout_s: float = 10.0,
    ) -> None:
        self.address = address
        self.log_dir = Path(log_dir)
        self.timeout_s = timeout_s
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            import ray
        except ImportError as e:
            raise ExecutorError(
                "Ray가 설치되지 않음: pip install ray / Ray is not installed: pip install ray"
            ) from e
        self.ray_ = ray
        if not ray.is_initialized():
            try:
                ray.init(address=address, namespace=NAMESPACE, log_to_driver=False)
            except Exception as e:  # ray raises many types for an unreachable cluster
                raise ExecutorError(
                    f"Ray 클러스터 연결 실패: {address} / Cannot reach Ray at {address}: {e}"
                ) from e
        self.actor_cls_ = ray.remote(JobRunner)
        self.cancelled_: set[str] = set()

    def nodes(self) -> list[Node]:
        out = []
        for n in self.ray_.nodes():
            if n.get("Alive"):
                res = n.get("Resources", {})
                out.append(
                    Node(n["NodeID"], cpus=float(res.get("CPU", 0.0)), gpus=float(res.get("GPU", 0.0)))
                )
        return out

    def _name(self, handle: str) -> str:
        return f"aion-run-{handle}"

    def _actor(self, handle: str) -> Any:
        try:
            return self.ray_.get_actor(self._name(handle), namespace=NAMESPACE)
        except ValueError:
            return None

    def submit(self, job: Job) -> str:
        handle = f"{job.id}-{job.attempts}"
        options: dict[str, Any] = {
            "name": self._name(handle),
            "namespace": NAMESPACE,
            "lifetime": "detached",
            "num_cpus": job.spec.cpus,
            "num_gpus": job.spec.gpus,
            "max_concurrency": 4,
            "max_restarts": 0,
        }
        if job.node and any(n.name == job.node for n in self.nodes()):
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(job.node, soft=False)
        try:
            self.actor_cls_.options(**options).remote(job.spec.entrypoint, dict(job.spec.params))
        except Exception as e:  # bad options or a lost cluster
            raise ExecutorError(f"Ray 작업 시작 실패: {job.id} / Could not start on Ray: {e}") from e
        return handle

    def poll(self, handle: str) -> RunStatus:
        actor = self._actor(handle)
        if actor is None:
            if handle in self.cancelled_:
                return RunStatus(RunState.CANCELLED, error="cancelled / 취소됨")
            return RunStatus(RunState.LOST, error="Ray actor gone / Ray 액터 없음")
        try:
            st = self.ray_.get(actor.status.remote(), timeout=self.timeout_s)
        except self.ray_.exceptions.GetTimeoutError:
            return RunStatus(RunState.RUNNING, message="pending / 대기 중")
        except self.ray_.exceptions.RayActorError:
            state = RunState.CANCELLED if handle in self.cancelled_ else RunState.LOST
            return RunStatus(state, error="Ray actor died / Ray 액터 종료")
        return RunStatus(
            RunState(st["state"]),
            progress=st["progress"],
            message=st["message"],
            error=st.get("error", ""),
            metrics=st["metrics"],
        )

    def cancel(self, handle: str) -> None:
        self.cancelled_.add(handle)
        actor = self._actor(handle)
        if actor is not None:
            self.ray_.kill(actor, no_restart=True)

    def _log_file(self, handle: str) -> Path:
        if "/" in handle or handle.startswith("."):
            raise ExecutorError(f"알 수 없는 실행 핸들: {handle!r} / Unknown run handle: {handle!r}")
        return self.log_dir / f"{handle}.log"

    def logs(self, handle: str, since: int = 0) -> list[str]:
        actor = self._actor(handle)
        if actor is not None:
            try:
                return list(self.ray_.get(actor.logs.remote(since), timeout=self.timeout_s))
            except (self.ray_.exceptions.GetTimeoutError, self.ray_.exceptions.RayActorError):
                pass
        path = self._log_file(handle)
        return path.read_text(encoding="utf-8").splitlines()[since:] if path.exists() else []

    def release(self, handle: str) -> None:
        """Keep the finished run's log on local disk, then kill its actor to free its CPUs and GPUs."""
        actor = self._actor(handle)
        if actor is not None:
            lines = self.logs(handle)
            path = self._log_file(handle)
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            os.replace(tmp, path)
            self.ray_.kill(actor, no_restart=True)
