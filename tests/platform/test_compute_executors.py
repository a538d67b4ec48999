"""One contract for every executor (local processes, Ray), and restart reconciliation."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from aion.platform.compute.errors import ExecutorError
from aion.platform.compute.executors import executor_from_address
from aion.platform.compute.executors.base import Executor, RunState, RunStatus
from aion.platform.compute.executors.local import LocalExecutor
from aion.platform.compute.jobs import Job, JobSpec, JobState
from aion.platform.compute.service import JobService
from aion.platform.compute.store import InMemoryJobStore

COUNT = "aion.platform.compute.samplejobs:count"
SLEEP = "aion.platform.compute.samplejobs:sleep"


def make_job(executor: Executor, job_id: str, entrypoint: str, **params: object) -> Job:
    job = Job(id=job_id, spec=JobSpec(company_id="a", entrypoint=entrypoint, params=params), submitted_at=0.0)
    job.node = executor.nodes()[0].name
    job.attempts = 1
    return job


def wait_final(executor: Executor, handle: str, timeout_s: float = 30.0) -> RunStatus:
    deadline = time.monotonic() + timeout_s
    while not (status := executor.poll(handle)).state.is_final:
        assert time.monotonic() < deadline, f"{handle} still {status.state}"
        time.sleep(0.02)
    return status


def test_contract(executor: Executor) -> None:
    (node,) = executor.nodes()
    assert node.cpus == 2
    ok = executor.submit(make_job(executor, "ok", COUNT, n=4, sleep_s=0.01))
    bad = executor.submit(make_job(executor, "bad", "aion.platform.compute.samplejobs:nope"))
    status = wait_final(executor, ok)
    assert status.state is RunState.SUCCEEDED
    assert status.progress == 1.0 and status.metrics == {"last_step": 4.0, "count": 4.0}
    assert executor.logs(ok) == [f"step {i}/4" for i in range(1, 5)]
    assert executor.logs(ok, since=3) == ["step 4/4"]
    failed = wait_final(executor, bad)
    assert failed.state is RunState.FAILED and "Entrypoint not found" in failed.error
    executor.release(ok)
    assert executor.logs(ok, since=2) == ["step 3/4", "step 4/4"]  # logs outlive the run
    executor.release(bad)
    long = executor.submit(make_job(executor, "long", SLEEP, seconds=60))
    deadline = time.monotonic() + 30
    while not executor.logs(long):  # started for real
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert executor.poll(long).state is RunState.RUNNING
    executor.cancel(long)
    assert wait_final(executor, long).state is RunState.CANCELLED
    executor.release(long)
    assert executor.reconcile(["never-started-1"])["never-started-1"].state is RunState.LOST


def test_a_metric_seen_while_running_is_in_the_final_status(executor: Executor) -> None:
    """Polls read a run's events on from where the last stopped; the final status still holds
    every metric the run reported, not only those since the last poll."""
    run = executor.submit(make_job(executor, "steps", COUNT, n=2, sleep_s=0.0, rest_s=1.0))
    deadline = time.monotonic() + 30
    while "last_step" not in (status := executor.poll(run)).metrics:
        assert status.state is RunState.RUNNING and time.monotonic() < deadline, status
        time.sleep(0.02)
    final = wait_final(executor, run)
    assert final.state is RunState.SUCCEEDED and final.metrics == {"last_step": 2.0, "count": 2.0}
    executor.release(run)


def test_unknown_executor_address_is_refused() -> None:
    with pytest.raises(ExecutorError, match="valid: local, ray"):
        executor_from_address("k8s://cluster")


def test_jobs_survive_a_restart_of_the_service(tmp_path: Path) -> None:
    """State in the store, workers in their own sessions: a new service adopts them."""
    store = InMemoryJobStore()  # stands for the database, which outlives the web server
    before = LocalExecutor(tmp_path / "runs", cpus=4)
    svc = JobService(store, before)
    svc.start()
    long = svc.submit(JobSpec(company_id="a", entrypoint=SLEEP, params={"seconds": 60}, estimated_seconds=60))
    quick = svc.submit(JobSpec(company_id="a", entrypoint=COUNT, params={"n": 2, "sleep_s": 0.0}))
    doomed = svc.submit(JobSpec(company_id="b", entrypoint=SLEEP, params={"seconds": 60}, max_retries=1))
    queued = svc.submit(JobSpec(company_id="c", cpus=4, entrypoint=COUNT))
    svc.tick()
    states = [svc.get(j.id).state for j in (long, quick, doomed, queued)]
    assert states == [JobState.RUNNING] * 3 + [JobState.QUEUED]
    handles = {j.id: str(svc.get(j.id).handle) for j in (long, quick, doomed)}
    after_ex = LocalExecutor(tmp_path / "runs", cpus=4)
    try:
        del svc  # the web server stops; nothing is cancelled
        run_dir = tmp_path / "runs"
        wait_final(before, handles[quick.id])  # finishes while the server is down
        os.killpg(
            int((run_dir / str(handles[doomed.id]) / "pid").read_text()), signal.SIGKILL
        )  # dies meanwhile
        wait_final(before, handles[doomed.id])

        after = JobService(store, after_ex)
        report = after.start()
        assert (report.requeued, report.adopted, report.finished, report.lost) == (1, 1, 1, 1)
        assert after.get(quick.id).state is JobState.SUCCEEDED
        assert after.get(quick.id).metrics["count"] == 2.0
        d = after.get(doomed.id)
        assert (d.state, d.failures) == (JobState.QUEUED, 1)  # lost run: retried
        assert after.get(long.id).state is JobState.RUNNING
        deadline = time.monotonic() + 30
        while after.logs(long.id) != ["sleeping"]:  # the adopted worker's log is readable
            assert time.monotonic() < deadline
            time.sleep(0.02)
        after.cancel(long.id)  # the adopted worker is really stopped
        deadline = time.monotonic() + 30
        while after.get(long.id).state is JobState.RUNNING:
            assert time.monotonic() < deadline
            after.tick()
            time.sleep(0.02)
        assert after.get(long.id).state is JobState.CANCELLED
        assert before.procs_[str(handles[long.id])].wait(timeout=10) is not None  # the worker exited
    finally:
        for ex in (before, after_ex):
            for handle in list(ex.procs_):
                ex.cancel(handle)
                ex.release(handle)
