"""Runs each attempt in its own local worker process; state lives in a run directory.

Everything the executor needs to find a run again is on disk (``run_dir/<handle>/``): the
spec, the worker's pid, its log, progress events, a cancel marker, and the final result. A new
executor over the same ``run_dir`` therefore reconciles runs started before a restart: a live
worker is adopted (polled and cancellable), a finished one reports its result, a vanished one
is reported ``lost``. Workers run in their own session, so they outlive the web server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aion.platform.compute.errors import ExecutorError
from aion.platform.compute.executors.base import Executor, RunState, RunStatus
from aion.platform.compute.jobs import Job
from aion.platform.compute.policy import Node

WORKER = "aion.platform.compute.executors.worker"


class LocalExecutor(Executor):
    """Local worker processes on this machine (one node named ``local``)."""

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        cpus: float | None = None,
        gpus: float = 0.0,
        grace_s: float = 5.0,
        python: str = sys.executable,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.cpus = cpus
        self.gpus = gpus
        self.grace_s = grace_s
        self.python = python
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.procs_: dict[str, subprocess.Popen[bytes]] = {}
        # handle -> (offset read to, progress, message, every metric so far): the events file is
        # read on from where the last poll stopped, so the metrics seen before are kept here
        self.events_: dict[str, tuple[int, float, str, dict[str, float]]] = {}

    def nodes(self) -> list[Node]:
        return [Node("local", cpus=float(self.cpus or os.cpu_count() or 1), gpus=self.gpus)]

    def _dir(self, handle: str, must_exist: bool = True) -> Path:
        d = self.run_dir / handle
        if "/" in handle or "\\" in handle or handle.startswith(".") or (must_exist and not d.is_dir()):
            raise ExecutorError(f"알 수 없는 실행 핸들: {handle!r} / Unknown run handle: {handle!r}")
        return d

    def submit(self, job: Job) -> str:
        handle = f"{job.id}-{job.attempts}"
        d = self.run_dir / handle
        d.mkdir(parents=True, exist_ok=False)
        spec = {"job_id": job.id, "entrypoint": job.spec.entrypoint, "params": dict(job.spec.params)}
        (d / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        threads = str(max(1, int(job.spec.cpus)))
        env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, PYTHONUNBUFFERED="1")
        if job.spec.gpus <= 0:
            env["CUDA_VISIBLE_DEVICES"] = ""
        with (d / "log.txt").open("ab") as log:
            try:
                proc = subprocess.Popen(
                    [self.python, "-m", WORKER, str(d.resolve())],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,
                )
            except OSError as e:
                raise ExecutorError(f"작업 프로세스 시작 실패: {job.id} / Could not start worker: {e}") from e
        (d / "pid").write_text(str(proc.pid), encoding="utf-8")
        self.procs_[handle] = proc
        return handle

    def _alive(self, handle: str, d: Path) -> bool:
        proc = self.procs_.get(handle)
        if proc is not None:
            return proc.poll() is None
        try:
            pid = int((d / "pid").read_text(encoding="utf-8"))
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return False
        return str(d.resolve()).encode() in cmdline  # not a recycled pid

    def _pid(self, d: Path) -> int | None:
        try:
            return int((d / "pid").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _progress(self, handle: str, d: Path) -> tuple[float, str, dict[str, float]]:
        offset, value, message, seen = self.events_.get(handle, (0, 0.0, "", {}))
        metrics = dict(seen)
        try:
            with (d / "events.jsonl").open("rb") as f:
                f.seek(offset)
                chunk = f.read()
        except FileNotFoundError:
            chunk = b""
        complete = chunk[: chunk.rfind(b"\n") + 1]
        for line in complete.splitlines():
            ev: dict[str, Any] = json.loads(line)
            if ev["t"] == "progress":
                value, message = ev["value"], ev.get("message", "")
            elif ev["t"] == "metric":
                metrics[ev["name"]] = ev["value"]
        self.events_[handle] = (offset + len(complete), value, message, metrics)
        return value, message, metrics

    def poll(self, handle: str) -> RunStatus:
        d = self._dir(handle, must_exist=False)
        if not d.is_dir():
            return RunStatus(RunState.LOST, error=f"unknown run / 알 수 없는 실행: {handle}")
        progress, message, metrics = self._progress(handle, d)
        result_path = d / "result.json"
        if result_path.exists():
            self._reap(handle)
            result = json.loads(result_path.read_text(encoding="utf-8"))
            state = RunState(result["state"])
            return RunStatus(
                state,
                progress=1.0 if state is RunState.SUCCEEDED else progress,
                message=message,
                error=result.get("error", ""),
                metrics={**metrics, **result.get("metrics", {})},
            )
        cancel_marker = d / "cancel"
        if self._alive(handle, d):
            if cancel_marker.exists():
                asked = float(cancel_marker.read_text(encoding="utf-8") or 0)
                if time.time() - asked > self.grace_s:
                    self._signal(d, signal.SIGKILL)
            return RunStatus(RunState.RUNNING, progress=progress, message=message, metrics=metrics)
        if result_path.exists():  # finished between the two checks
            return self.poll(handle)
        if cancel_marker.exists():
            return RunStatus(RunState.CANCELLED, progress=progress, error="cancelled / 취소됨")
        proc = self.procs_.get(handle)
        if proc is not None and proc.returncode is not None:
            return RunStatus(
                RunState.FAILED, progress=progress, error=f"worker exited with {proc.returncode}"
            )
        return RunStatus(RunState.LOST, progress=progress, error="worker vanished / 작업 프로세스 사라짐")

    def _reap(self, handle: str) -> None:
        proc = self.procs_.get(handle)
        if proc is not None:
            try:
                proc.wait(timeout=self.grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _signal(self, d: Path, sig: int) -> None:
        pid = self._pid(d)
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)  # the worker leads its own session and group

    def cancel(self, handle: str) -> None:
        d = self._dir(handle)
        if (d / "result.json").exists():
            return
        marker = d / "cancel"
        if not marker.exists():
            marker.write_text(str(time.time()), encoding="utf-8")
        if self._alive(handle, d):
            self._signal(d, signal.SIGTERM)

    def logs(self, handle: str, since: int = 0) -> list[str]:
        try:
            text = (self._dir(handle) / "log.txt").read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return text.splitlines()[since:]

    def release(self, handle: str) -> None:
        self._reap(handle)
        self.procs_.pop(handle, None)
        self.events_.pop(handle, None)

    def close(self) -> None:
        for handle in list(self.procs_):
            proc = self.procs_[handle]
            if proc.poll() is not None:
                self.procs_.pop(handle)
