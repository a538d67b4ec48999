"""Ties the scheduler, an executor and a job store together: submit, cancel, tick, reconcile.

The web app owns one :class:`JobService`; it calls :meth:`JobService.start` once at start-up
(which reconciles the executor with the store), then :meth:`JobService.tick` every second or so
(or :meth:`JobService.run_forever` in a thread). Every state change is saved to the store before
the call returns, so a restart loses nothing: queued jobs are queued again, running jobs are
adopted if their run is still alive, recorded as finished if it finished meanwhile, and retried
(or failed) if the run was lost.
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from aion.platform.compute.errors import ExecutorError, InvalidTransitionError
from aion.platform.compute.executors.base import Executor, RunState, RunStatus
from aion.platform.compute.jobs import Job, JobSpec, JobState
from aion.platform.compute.policy import CompanyPolicy
from aion.platform.compute.scheduler import FairShareScheduler
from aion.platform.compute.store import JobStore
from aion.platform.compute.usage import UsageLedger

log = logging.getLogger("aion.compute")


class ReconcileReport(NamedTuple):
    """What :meth:`JobService.start` found."""

    requeued: int
    adopted: int
    finished: int
    lost: int


class JobService:
    """The job API below the web layer."""

    def __init__(
        self,
        store: JobStore,
        executor: Executor,
        scheduler: FairShareScheduler | None = None,
        policies: Mapping[str, CompanyPolicy] | None = None,
        clock: Callable[[], float] = time.time,
        retry_backoff_s: float = 2.0,
        max_backoff_s: float = 300.0,
    ) -> None:
        self.store = store
        self.executor = executor
        self.clock = clock
        self.retry_backoff_s = retry_backoff_s
        self.max_backoff_s = max_backoff_s
        self.scheduler = scheduler or FairShareScheduler(
            executor.nodes(), policies, ledger=UsageLedger(store.usage_records())
        )
        self.jobs_: dict[str, Job] = {}  # live (queued or running) jobs, shared with the scheduler
        self.lock_ = threading.RLock()

    # ------------------------------------------------------------------ start-up
    def start(self) -> ReconcileReport:
        """Load live jobs from the store and reconcile running ones with the executor."""
        with self.lock_:
            now = self.clock()
            requeued = adopted = finished = lost = 0
            running: list[Job] = []
            for job in self.store.list(states=[JobState.QUEUED, JobState.RUNNING]):
                self.jobs_[job.id] = job
                if job.state is JobState.QUEUED:
                    self.scheduler.enqueue(job)
                    requeued += 1
                else:
                    running.append(job)
            statuses = self.executor.reconcile([j.handle for j in running if j.handle])
            for job in running:
                status = statuses.get(job.handle or "", RunStatus(RunState.LOST, error="no handle"))
                self.scheduler.adopt(job)
                if status.state is RunState.RUNNING:
                    adopted += 1
                    continue
                lost += status.state is RunState.LOST
                finished += status.state is not RunState.LOST
                self._finish(job, status, now)
            self._persist_usage()
            return ReconcileReport(requeued, adopted, finished, lost)

    # ------------------------------------------------------------------ the API
    def submit(self, spec: JobSpec) -> Job:
        """Queue a new job; raises :class:`~aion.platform.compute.errors.QuotaError` if it can never run."""
        with self.lock_:
            job = Job(id=uuid.uuid4().hex, spec=spec, submitted_at=self.clock())
            self.scheduler.validate(job)
            self.store.add(job)
            self.jobs_[job.id] = job
            self.scheduler.enqueue(job)
            return self.store.get(job.id)

    def get(self, job_id: str) -> Job:
        with self.lock_:
            return self.store.get(job_id)

    def list(
        self, states: Iterable[JobState] | None = None, company_id: str | None = None
    ) -> builtins.list[Job]:
        with self.lock_:
            return self.store.list(states, company_id)

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job now, or ask a running one to stop (it turns cancelled on a later tick)."""
        with self.lock_:
            job = self.jobs_.get(job_id)
            if job is None:
                stored = self.store.get(job_id)
                raise InvalidTransitionError(
                    f"이미 끝난 작업은 취소할 수 없음: {job_id} ({stored.state.value}) / "
                    f"Cannot cancel a finished job: {job_id} ({stored.state.value})"
                )
            job.cancel_requested = True
            if job.state is JobState.QUEUED:
                self.scheduler.dequeue(job.id)
                job.move(JobState.CANCELLED)
                job.finished_at = self.clock()
                self.jobs_.pop(job.id)
            elif job.handle:
                self.executor.cancel(job.handle)
            self.store.save(job)
            return self.store.get(job_id)

    def logs(self, job_id: str, since: int = 0) -> builtins.list[str]:
        """Log lines of the job's latest attempt."""
        with self.lock_:
            job = self.jobs_.get(job_id) or self.store.get(job_id)
            return self.executor.logs(job.handle, since) if job.handle else []

    def set_policy(self, company_id: str, policy: CompanyPolicy) -> None:
        with self.lock_:
            self.scheduler.set_policy(company_id, policy)

    # ------------------------------------------------------------------ the loop
    def tick(self) -> None:
        """Poll running jobs, then start (and preempt) what the scheduler decides."""
        with self.lock_:
            now = self.clock()
            for job in self.scheduler.running():
                if job.handle is None:
                    continue
                status = self.executor.poll(job.handle)
                if status.state is RunState.RUNNING:
                    if (status.progress, status.message) != (job.progress, job.message):
                        job.progress, job.message = status.progress, status.message
                        job.metrics.update(status.metrics)
                        self.store.save(job)
                else:
                    self._finish(job, status, now)
            decision = self.scheduler.decide(now)
            for job_id in decision.preempted:
                job = self.jobs_[job_id]
                if job.handle:
                    self.executor.cancel(job.handle)
                job.handle = None
                job.message = "시연 작업에 의해 선점됨 / preempted by a demonstration job"
                self.store.save(job)
            for start in decision.starts:
                job = self.jobs_[start.job_id]
                job.progress, job.message, job.error = 0.0, "", ""
                try:
                    job.handle = self.executor.submit(job)
                except ExecutorError as e:
                    self._finish(job, RunStatus(RunState.FAILED, error=str(e)), now)
                    continue
                self.store.save(job)
            self._persist_usage()

    def run_forever(self, stop: threading.Event, interval_s: float = 1.0) -> None:
        """Tick until ``stop`` is set; errors are logged and retried with capped backoff."""
        delay = interval_s
        while not stop.is_set():
            try:
                self.tick()
                delay = interval_s
            except Exception:  # the top of a long-running loop: log, back off, go on
                log.exception("compute tick failed; retrying in %.1f s", delay)
                delay = min(self.max_backoff_s, delay * 2)
            stop.wait(delay)

    # ------------------------------------------------------------------ internals
    def _finish(self, job: Job, status: RunStatus, now: float) -> None:
        job.metrics.update(status.metrics)
        job.progress, job.message = status.progress, status.message
        handle = job.handle
        if status.state is RunState.SUCCEEDED:
            self.scheduler.finish(job, JobState.SUCCEEDED, now)
        elif job.cancel_requested or status.state is RunState.CANCELLED:
            self.scheduler.finish(job, JobState.CANCELLED, now)
        else:
            job.failures += 1
            job.error = status.error or status.state.value
            if job.failures <= job.spec.max_retries:
                backoff = min(self.max_backoff_s, self.retry_backoff_s * 2 ** (job.failures - 1))
                job.not_before = now + backoff
                job.message = f"재시도 {job.failures}/{job.spec.max_retries} / retry {job.failures}/{job.spec.max_retries}"
                self.scheduler.finish(job, JobState.QUEUED, now)
            else:
                self.scheduler.finish(job, JobState.FAILED, now)
        if job.state.is_final:
            self.jobs_.pop(job.id, None)
        else:
            job.handle = None
        self.store.save(job)
        if handle:
            self.executor.release(handle)

    def _persist_usage(self) -> None:
        records = self.scheduler.take_usage_records()
        if records:
            self.store.add_usage(records)
