"""The compute engine's :class:`~aion.platform.compute.store.JobStore` over the database.

Each call opens its own short transaction with a trusted (all-companies) scope: the job service
runs in a background thread, outside any request. Pages and the API read jobs through their own
tenant-scoped sessions (:mod:`aion.platform.jobs`), so isolation still holds for readers.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from aion.core.db import session_factory
from aion.core.tenancy import Scope
from aion.platform.compute.errors import ComputeError, JobNotFoundError
from aion.platform.compute.jobs import Job, JobKind, JobSpec, JobState
from aion.platform.compute.store import JobStore
from aion.platform.compute.usage import UsageRecord
from aion.platform.models import JobRecord, JobUsage

SPEC_FIELDS = ("priority", "cpus", "gpus", "estimated_seconds", "preemptible", "demo", "max_retries")
RUN_FIELDS = (
    "attempts",
    "failures",
    "preemptions",
    "started_at",
    "finished_at",
    "not_before",
    "node",
    "handle",
    "progress",
    "message",
    "error",
    "cancel_requested",
    "cpu_seconds",
    "gpu_seconds",
)


def spec_to_json(spec: JobSpec) -> dict[str, Any]:
    out: dict[str, Any] = {f: getattr(spec, f) for f in SPEC_FIELDS}
    out.update(kind=spec.kind.value, entrypoint=spec.entrypoint, params=dict(spec.params), name=spec.name)
    return out


def record_to_job(rec: JobRecord) -> Job:
    s = dict(rec.spec)
    spec = JobSpec(
        company_id=str(rec.company_id),
        kind=JobKind(s.get("kind", "other")),
        entrypoint=s.get("entrypoint", ""),
        params=s.get("params", {}),
        name=s.get("name", ""),
        **{f: s[f] for f in SPEC_FIELDS if f in s},
    )
    job = Job(id=rec.id, spec=spec, submitted_at=rec.submitted_at, state=JobState(rec.state))
    for f in RUN_FIELDS:
        setattr(job, f, getattr(rec, f))
    job.metrics = {str(k): float(v) for k, v in (rec.metrics or {}).items()}
    return job


class SqlJobStore(JobStore):
    """Jobs in ``platform_jobs`` and usage in ``platform_job_usage``.

    ``kinds`` maps a job id to its registry kind name for :meth:`add` (set by the submitter via
    :meth:`annotate` just before :meth:`~aion.platform.compute.service.JobService.submit`).
    """

    def __init__(self, engine: Engine) -> None:
        self.sessionmaker = session_factory(engine)
        self.pending_meta_: dict[str, Any] = {}

    def _session(self) -> Session:
        session = self.sessionmaker()
        Scope.system("compute").bind(session)
        return session

    def annotate(self, kind: str, created_by: str) -> None:
        """What the next :meth:`add` records besides the engine's fields (kind name, submitter)."""
        self.pending_meta_ = {"kind": kind, "created_by": created_by}

    def add(self, job: Job) -> None:
        meta, self.pending_meta_ = self.pending_meta_, {}
        with self._session() as s, s.begin():
            if s.get(JobRecord, job.id) is not None:
                raise ComputeError(f"이미 있는 작업 ID: {job.id} / Job id already exists: {job.id}")
            rec = JobRecord(
                id=job.id,
                company_id=int(job.company_id),
                kind=meta.get("kind", job.spec.kind.value),
                name=job.spec.name,
                state=job.state.value,
                spec=spec_to_json(job.spec),
                submitted_at=job.submitted_at,
                metrics=dict(job.metrics),
                created_by=meta.get("created_by", ""),
            )
            for f in RUN_FIELDS:
                setattr(rec, f, getattr(job, f))
            s.add(rec)

    def get(self, job_id: str) -> Job:
        with self._session() as s:
            rec = s.get(JobRecord, job_id)
            if rec is None:
                raise JobNotFoundError(f"작업 없음: {job_id} / No such job: {job_id}")
            return record_to_job(rec)

    def save(self, job: Job) -> None:
        with self._session() as s, s.begin():
            rec = s.get(JobRecord, job.id)
            if rec is None:
                raise JobNotFoundError(f"작업 없음: {job.id} / No such job: {job.id}")
            rec.state = job.state.value
            rec.metrics = dict(job.metrics)
            for f in RUN_FIELDS:
                setattr(rec, f, getattr(job, f))

    def list(
        self, states: Iterable[JobState] | None = None, company_id: str | None = None
    ) -> builtins.list[Job]:
        stmt = select(JobRecord)
        if states is not None:
            stmt = stmt.where(JobRecord.state.in_([s.value for s in states]))
        if company_id is not None:
            stmt = stmt.where(JobRecord.company_id == int(company_id))
        with self._session() as s:
            return [record_to_job(r) for r in s.scalars(stmt.order_by(JobRecord.submitted_at, JobRecord.id))]

    def add_usage(self, records: Iterable[UsageRecord]) -> None:
        rows = [
            {
                "company_id": int(r.company_id),
                "month": r.month,
                "cpu_seconds": r.cpu_seconds,
                "gpu_seconds": r.gpu_seconds,
            }
            for r in records
        ]
        if rows:
            with self._session() as s, s.begin():
                s.execute(insert(JobUsage), rows)

    def usage_records(self) -> builtins.list[UsageRecord]:
        with self._session() as s:
            return [
                UsageRecord(str(u.company_id), u.month, u.cpu_seconds, u.gpu_seconds)
                for u in s.scalars(select(JobUsage).order_by(JobUsage.id))
            ]
