"""Where jobs and usage are kept between restarts: one small interface, an in-memory version.

The SQL implementation lives with the database layer; it passes the same contract tests
(``tests/platform/test_store_contract.py``).

>>> from aion.platform.compute.jobs import JobSpec
>>> store = InMemoryJobStore()
>>> store.add(Job(id="j1", spec=JobSpec(company_id="acme"), submitted_at=0.0))
>>> [j.id for j in store.list(company_id="acme")]
['j1']
"""

from __future__ import annotations

import builtins
import copy
from abc import ABC, abstractmethod
from collections.abc import Iterable

from aion.platform.compute.errors import ComputeError, JobNotFoundError
from aion.platform.compute.jobs import Job, JobState
from aion.platform.compute.usage import UsageRecord


class JobStore(ABC):
    """Persistence of :class:`Job` records and monthly usage. Returned jobs are copies."""

    @abstractmethod
    def add(self, job: Job) -> None:
        """Insert a new job; raises :class:`ComputeError` if the id exists."""

    @abstractmethod
    def get(self, job_id: str) -> Job:
        """The job, or :class:`JobNotFoundError`."""

    @abstractmethod
    def save(self, job: Job) -> None:
        """Overwrite an existing job's fields."""

    @abstractmethod
    def list(
        self, states: Iterable[JobState] | None = None, company_id: str | None = None
    ) -> builtins.list[Job]:
        """Jobs filtered by state and company, oldest submission first."""

    @abstractmethod
    def add_usage(self, records: Iterable[UsageRecord]) -> None:
        """Append usage pieces (company, month, CPU and GPU seconds)."""

    @abstractmethod
    def usage_records(self) -> builtins.list[UsageRecord]:
        """All usage pieces, to seed the ledger on start."""


def _copy(job: Job) -> Job:
    out = copy.copy(job)
    out.metrics = dict(job.metrics)
    return out


class InMemoryJobStore(JobStore):
    """A dict; for tests, the simulator and single-process use without a database."""

    def __init__(self) -> None:
        self.jobs_: dict[str, Job] = {}
        self.usage_: list[UsageRecord] = []

    def add(self, job: Job) -> None:
        if job.id in self.jobs_:
            raise ComputeError(f"이미 있는 작업 ID: {job.id} / Job id already exists: {job.id}")
        self.jobs_[job.id] = _copy(job)

    def get(self, job_id: str) -> Job:
        try:
            return _copy(self.jobs_[job_id])
        except KeyError as e:
            raise JobNotFoundError(f"작업 없음: {job_id} / No such job: {job_id}") from e

    def save(self, job: Job) -> None:
        if job.id not in self.jobs_:
            raise JobNotFoundError(f"작업 없음: {job.id} / No such job: {job.id}")
        self.jobs_[job.id] = _copy(job)

    def list(
        self, states: Iterable[JobState] | None = None, company_id: str | None = None
    ) -> builtins.list[Job]:
        wanted = set(states) if states is not None else None
        out = [
            _copy(j)
            for j in self.jobs_.values()
            if (wanted is None or j.state in wanted) and (company_id is None or j.company_id == company_id)
        ]
        return sorted(out, key=lambda j: (j.submitted_at, j.id))

    def add_usage(self, records: Iterable[UsageRecord]) -> None:
        self.usage_.extend(records)

    def usage_records(self) -> builtins.list[UsageRecord]:
        return list(self.usage_)
