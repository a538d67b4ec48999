"""The job service on real executors: local worker processes and a real local Ray cluster.

Each test runs against both executors (``executor`` fixture). The scheduler's clock is
advanced by hand one round at a time (see ``run_round``) so that fair-share outcomes are exact;
the jobs themselves run for real.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from aion.platform.compute.errors import InvalidTransitionError, QuotaError
from aion.platform.compute.executors.base import Executor
from aion.platform.compute.jobs import JobSpec, JobState
from aion.platform.compute.policy import CompanyPolicy, Quota
from aion.platform.compute.service import JobService
from aion.platform.compute.store import InMemoryJobStore

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC


class Clock:
    """A clock the test advances by hand (the scheduler's notion of time, not the jobs')."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def run_round(svc: JobService, clock: Clock, step_s: float = 1.0, timeout_s: float = 30.0) -> list[str]:
    """Tick once, wait until every started run has really finished, then advance the clock.

    Returns the ids of the jobs started in this round. Charging is then exact (each run lasts
    exactly ``step_s`` on the scheduler's clock), so fair-share outcomes are deterministic.
    """
    before = {j.id for j in svc.scheduler.running()}
    svc.tick()
    started = [j.id for j in svc.scheduler.running() if j.id not in before]
    deadline = time.monotonic() + timeout_s
    for job in svc.scheduler.running():
        assert job.handle is not None
        while not svc.executor.poll(job.handle).state.is_final:
            assert time.monotonic() < deadline, f"run {job.handle} did not finish"
            time.sleep(0.02)
    clock.advance(step_s)
    return started


def wait_for(svc: JobService, job_id: str, states: set[JobState], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        svc.tick()
        job = svc.get(job_id)
        if job.state in states:
            return job
        assert time.monotonic() < deadline, f"job {job_id} stuck in {job.state}"
        time.sleep(0.02)


@pytest.fixture
def clock() -> Clock:
    return Clock()


COUNT = "aion.platform.compute.samplejobs:count"
SLEEP = "aion.platform.compute.samplejobs:sleep"
FLAKY = "aion.platform.compute.samplejobs:flaky"
FINAL = {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}


def quick(company: str, **kw: object) -> JobSpec:
    base: dict[str, object] = {
        "cpus": 1.0,
        "estimated_seconds": 1.0,
        "entrypoint": COUNT,
        "params": {"n": 1, "sleep_s": 0.0},
    }
    base.update(kw)
    return JobSpec(company_id=company, **base)  # type: ignore[arg-type]


def service(executor: Executor, clock: Clock, policies: dict[str, CompanyPolicy] | None = None) -> JobService:
    svc = JobService(InMemoryJobStore(), executor, policies=policies, clock=clock, retry_backoff_s=0.0)
    svc.start()
    return svc


def test_quota_and_fair_share(executor: Executor, clock: Clock) -> None:
    """Weights 1:3 give 1:3 of the starts; a 1-job concurrency quota is never exceeded."""
    policies = {
        "a": CompanyPolicy(weight=1.0),
        "b": CompanyPolicy(weight=3.0),
        "q": CompanyPolicy(weight=100.0, quota=Quota(max_concurrent_jobs=1)),
    }
    svc = service(executor, clock, policies)
    ids = {c: [svc.submit(quick(c)).id for _ in range(n)] for c, n in (("a", 8), ("b", 8), ("q", 2))}
    company = {j: c for c, js in ids.items() for j in js}
    starts: list[str] = []
    for _ in range(6):  # 2 CPUs, 1-CPU jobs: 12 starts
        round_starts = [company[j] for j in run_round(svc, clock)]
        assert round_starts.count("q") <= 1  # quota: at most one running job at a time
        starts += round_starts
    assert starts.count("q") == 2  # the heaviest weight still gets its two jobs, one per round
    ab = [c for c in starts if c != "q"]
    assert len(ab) == 10
    assert abs(ab.count("b") / len(ab) - 0.75) <= 1 / len(ab)  # 3:1, within one job
    svc.tick()  # record the last round's results
    done = 0
    for j in ids["a"] + ids["b"]:
        job = svc.get(j)
        if job.state is JobState.SUCCEEDED:
            done += 1
            assert job.metrics["count"] == 1.0
            assert svc.logs(j) == ["step 1/1"]
    assert done == 10
    with pytest.raises(QuotaError):
        svc.submit(quick("a", cpus=64))


def test_retries_then_success_or_failure(executor: Executor, clock: Clock, tmp_path: Path) -> None:
    svc = service(executor, clock)
    ok = svc.submit(
        quick("a", entrypoint=FLAKY, params={"counter": str(tmp_path / "c1"), "fail_times": 1}, max_retries=1)
    )
    bad = svc.submit(
        quick("a", entrypoint=FLAKY, params={"counter": str(tmp_path / "c2"), "fail_times": 5}, max_retries=1)
    )
    for _ in range(3):
        run_round(svc, clock)
    svc.tick()
    ok_job, bad_job = svc.get(ok.id), svc.get(bad.id)
    assert (ok_job.state, ok_job.attempts, ok_job.failures) == (JobState.SUCCEEDED, 2, 1)
    assert ok_job.metrics["attempts"] == 2.0
    assert (bad_job.state, bad_job.attempts, bad_job.failures) == (JobState.FAILED, 2, 2)
    assert "planned failure 2 of 5" in bad_job.error


def test_cancel_queued_and_running(executor: Executor, clock: Clock) -> None:
    svc = service(executor, clock)
    running = []
    for _ in range(2):
        running.append(svc.submit(quick("a", entrypoint=SLEEP, params={"seconds": 60}, estimated_seconds=60)))
        clock.advance(1)
    queued = svc.submit(quick("a"))
    svc.tick()
    assert {svc.get(j.id).state for j in running} == {JobState.RUNNING}
    assert svc.cancel(queued.id).state is JobState.CANCELLED
    svc.cancel(running[0].id)
    job = wait_for(svc, running[0].id, FINAL)
    assert job.state is JobState.CANCELLED
    with pytest.raises(InvalidTransitionError):
        svc.cancel(running[0].id)
    svc.cancel(running[1].id)
    assert wait_for(svc, running[1].id, FINAL).state is JobState.CANCELLED


def test_demo_job_preempts_and_the_victim_runs_again(executor: Executor, clock: Clock) -> None:
    svc = service(executor, clock)
    long_specs = {"entrypoint": SLEEP, "params": {"seconds": 60}, "estimated_seconds": 60}
    keep = svc.submit(quick("a", preemptible=False, **long_specs))  # type: ignore[arg-type]
    victim = svc.submit(quick("b", priority=-1, **long_specs))  # type: ignore[arg-type]
    svc.tick()
    assert svc.get(victim.id).state is JobState.RUNNING
    clock.advance(10)
    demo = svc.submit(quick("program", demo=True))
    svc.tick()
    assert svc.get(demo.id).state is JobState.RUNNING
    v = svc.get(victim.id)
    assert (v.state, v.preemptions) == (JobState.QUEUED, 1)
    assert svc.get(keep.id).state is JobState.RUNNING
    assert wait_for(svc, demo.id, FINAL).state is JobState.SUCCEEDED
    assert wait_for(svc, victim.id, {JobState.RUNNING}).attempts == 2
    for j in (keep, victim):
        svc.cancel(j.id)
        wait_for(svc, j.id, FINAL)
