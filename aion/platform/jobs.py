"""Job use cases for pages and the API: submit a kind on a data set version, list, cancel, logs, quotas.

Reads go through the caller's tenant-scoped session (another company's job is a 404); changes
go through the :class:`~aion.platform.runtime.PlatformRuntime`'s job service, which persists
them in its own transaction, and the audit event too: these functions write nothing in the
caller's session, so on SQLite (one writer at a time) they never wait on the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aion.core import audit
from aion.core.db import system_session
from aion.core.tenancy import current_scope, get_scoped
from aion.platform.compute.errors import ComputeError
from aion.platform.compute.jobs import JobSpec
from aion.platform.compute.policy import CompanyPolicy, Quota
from aion.platform.compute.scheduler import CompanyView, NodeView
from aion.platform.datasets import get_dataset, get_version
from aion.platform.errors import PlatformError
from aion.platform.jobkinds import PrepareRequest, get_kind
from aion.platform.models import JobRecord, PlatformQuota
from aion.platform.quota import quota_row, storage_limit, storage_used
from aion.platform.runtime import PlatformRuntime

ACTIVE = ("queued", "running")


def submit_job(
    session: Session,
    runtime: PlatformRuntime,
    kind: str,
    dataset_id: int,
    version_id: int,
    options: dict[str, Any] | None = None,
    priority: int = 0,
) -> JobRecord:
    """Queue a job of ``kind`` (see :mod:`aion.platform.jobkinds`) on one data set version.

    Raises :class:`~aion.core.tenancy.NotFound` for another company's data set and
    :class:`PlatformError` for a kind that does not fit the data set, bad options or a quota
    that can never admit the job.
    """
    spec_kind = get_kind(kind)
    dataset = get_dataset(session, dataset_id)
    version = get_version(session, dataset.id, version_id)
    if dataset.kind not in spec_kind.dataset_kinds:
        raise PlatformError("This job kind does not apply to this data set.")
    prepared = spec_kind.prepare(
        session,
        PrepareRequest(
            company_id=dataset.company_id,
            version=version,
            options=dict(options or {}),
            store=runtime.storage.store,
            out_dir=runtime.storage.new_output_dir(),
        ),
    )
    spec = JobSpec(
        company_id=str(dataset.company_id),
        kind=spec_kind.engine_kind,
        priority=priority,
        cpus=prepared.cpus,
        gpus=prepared.gpus,
        estimated_seconds=prepared.estimated_seconds,
        entrypoint=spec_kind.entrypoint,
        params=prepared.params,
        name=prepared.name[:200],
    )
    actor = current_scope(session).actor
    try:
        job = runtime.submit(spec, kind, actor)
    except ComputeError as e:
        raise PlatformError("The job cannot run under the company's quota: {reason}", reason=str(e)) from e
    _audit(
        session,
        "job_submit",
        job.id,
        dataset.company_id,
        {"kind": kind, "dataset_id": dataset.id, "version_id": version.id},
    )
    return get_job(session, job.id)


def list_jobs(session: Session, limit: int = 200) -> list[JobRecord]:
    stmt = select(JobRecord).order_by(JobRecord.submitted_at.desc()).limit(limit)
    return list(session.scalars(stmt))


def get_job(session: Session, job_id: str) -> JobRecord:
    """The job, or :class:`~aion.core.tenancy.NotFound` (also for another company's)."""
    return get_scoped(session, JobRecord, job_id)  # type: ignore[arg-type]


def cancel_job(session: Session, runtime: PlatformRuntime, job_id: str) -> JobRecord:
    """Cancel a queued job, or ask a running one to stop."""
    rec = get_job(session, job_id)
    if rec.state not in ACTIVE:
        raise PlatformError("This job has already finished.")
    try:
        runtime.cancel(rec.id)
    except ComputeError as e:
        raise PlatformError("This job has already finished.") from e
    _audit(session, "job_cancel", rec.id, rec.company_id, None)
    return get_job(session, rec.id)


def _audit(
    session: Session, action: str, job_id: str, company_id: int, detail: dict[str, Any] | None
) -> None:
    """Record a job event in its own transaction, like the job change itself (see the module doc)."""
    scope = current_scope(session)
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with system_session(engine, actor=scope.actor) as s:
        audit.record(
            s, action, "JobRecord", job_id, company_id=company_id, actor_id=scope.actor_id, detail=detail
        )


def job_logs(session: Session, runtime: PlatformRuntime, job_id: str, since: int = 0) -> list[str]:
    """Log lines of the job's latest attempt, from line ``since``."""
    rec = get_job(session, job_id)
    if not rec.handle:
        return []
    try:
        return runtime.executor.logs(rec.handle, since)
    except ComputeError:
        return []


# -- quotas and usage (center admin) -------------------------------------------------------------
@dataclass
class CompanyUsage:
    company_id: int
    name: str
    quota: PlatformQuota | None
    view: CompanyView | None
    storage_used: int
    storage_limit: int | None


def set_quota(
    session: Session,
    runtime: PlatformRuntime | None,
    company_id: int,
    *,
    weight: float,
    max_concurrent_jobs: int | None,
    cpu_hours_per_month: float | None,
    gpu_hours_per_month: float | None,
    storage_bytes: int | None,
) -> PlatformQuota:
    """Create or change a company's quotas (audited); the scheduler uses them from the next decision."""
    try:
        policy = CompanyPolicy(
            weight=weight,
            quota=Quota(
                max_concurrent_jobs=max_concurrent_jobs,
                cpu_hours_per_month=cpu_hours_per_month,
                gpu_hours_per_month=gpu_hours_per_month,
            ),
        )
    except ComputeError as e:
        raise PlatformError("Bad quota: {reason}", reason=str(e)) from e
    if storage_bytes is not None and storage_bytes < 0:
        raise PlatformError("Bad quota: {reason}", reason="storage < 0")
    row = quota_row(session, company_id)
    if row is None:
        row = PlatformQuota(company_id=company_id)
        session.add(row)
    row.weight = weight
    row.max_concurrent_jobs = max_concurrent_jobs
    row.cpu_hours_per_month = cpu_hours_per_month
    row.gpu_hours_per_month = gpu_hours_per_month
    row.storage_bytes = storage_bytes
    session.flush()
    if runtime is not None and runtime.jobs is not None:
        runtime.jobs.set_policy(str(company_id), policy)
    return row


def usage(session: Session, runtime: PlatformRuntime) -> tuple[list[CompanyUsage], list[NodeView]]:
    """Queues, usage this month and storage per company, and the nodes' free capacity."""
    import time

    from aion.accounts.models import Company

    service = runtime.service()
    companies = list(session.scalars(select(Company).order_by(Company.name)))
    with service.lock_:
        views = {
            v.company_id: v
            for v in service.scheduler.company_views(time.time(), [str(c.id) for c in companies])
        }
        nodes = service.scheduler.node_views()
    out = [
        CompanyUsage(
            c.id,
            c.name,
            quota_row(session, c.id),
            views.get(str(c.id)),
            storage_used(session, c.id),
            storage_limit(session, c.id),
        )
        for c in companies
    ]
    return out, nodes
