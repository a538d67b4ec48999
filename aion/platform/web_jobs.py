"""Pages for jobs (list, detail with live status and log, cancel) and the compute admin page."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from aion.accounts.models import Company
from aion.core.tenancy import get_scoped
from aion.i18n import gettext
from aion.platform import jobs as job_service
from aion.platform import policy
from aion.platform.datasets import get_dataset
from aion.platform.errors import PlatformError
from aion.platform.jobkinds import all_kinds
from aion.platform.web import _detail, message, runtime
from aion.web.deps import CurrentUser, SessionDep
from aion.web.forms import redirect
from aion.web.templating import render

router: APIRouter = APIRouter(include_in_schema=False)
LOG_TAIL = 200


def when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else ""


@router.post("/datasets/{dataset_id}/versions/{version_id}/jobs")
async def job_submit(
    request: Request, session: SessionDep, user: CurrentUser, dataset_id: int, version_id: int
) -> Response:
    dataset = get_dataset(session, dataset_id)
    policy.require(policy.can_edit(user, dataset.company_id))
    form = await request.form()
    kind = str(form.get("kind", "train_inspection"))
    options = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "kind")}
    try:
        job = job_service.submit_job(session, runtime(request), kind, dataset.id, version_id, options)
    except PlatformError as e:
        return _detail(request, session, user, dataset.id, 400, [message(e, request)])
    return redirect(f"/jobs/{job.id}", "created")


@router.get("/jobs")
def jobs_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return render(
        request, "platform/jobs.html", jobs=job_service.list_jobs(session), when=when, kinds=all_kinds()
    )


def _panel_context(request: Request, session: Any, job_id: str) -> dict[str, Any]:
    job = job_service.get_job(session, job_id)
    lines = job_service.job_logs(session, runtime(request), job.id)
    return {"job": job, "log": lines[-LOG_TAIL:], "when": when, "kinds": all_kinds()}


@router.get("/jobs/{job_id}")
def job_page(request: Request, session: SessionDep, user: CurrentUser, job_id: str) -> Response:
    ctx = _panel_context(request, session, job_id)
    return render(request, "platform/job.html", can_edit=policy.can_edit(user, ctx["job"].company_id), **ctx)


@router.get("/jobs/{job_id}/panel")
def job_panel(request: Request, session: SessionDep, user: CurrentUser, job_id: str) -> Response:
    """The live part of the job page, polled by htmx while the job is queued or running."""
    ctx = _panel_context(request, session, job_id)
    return render(
        request, "platform/_job_panel.html", can_edit=policy.can_edit(user, ctx["job"].company_id), **ctx
    )


@router.post("/jobs/{job_id}/cancel")
def job_cancel(request: Request, session: SessionDep, user: CurrentUser, job_id: str) -> Response:
    job = job_service.get_job(session, job_id)
    policy.require(policy.can_edit(user, job.company_id))
    with contextlib.suppress(PlatformError):  # finished meanwhile: the page shows the final state
        job_service.cancel_job(session, runtime(request), job.id)
    return redirect(f"/jobs/{job.id}")


# -- computing center admin -----------------------------------------------------------------
@router.get("/compute/admin")
def compute_admin(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    policy.require(policy.can_admin_compute(user))
    return _admin_page(request, session)


def _admin_page(
    request: Request, session: Any, status: int = 200, errors: list[str] | None = None
) -> Response:
    rows, nodes = job_service.usage(session, runtime(request))
    return render(request, "platform/compute_admin.html", status, rows=rows, nodes=nodes, errors=errors or [])


def _opt_float(value: Any) -> float | None:
    text = str(value or "").strip()
    return float(text) if text else None


@router.post("/compute/admin/quotas/{company_id}")
async def quota_save(request: Request, session: SessionDep, user: CurrentUser, company_id: int) -> Response:
    company = get_scoped(session, Company, company_id)  # 404 before 403: no hint about other companies
    policy.require(policy.can_admin_compute(user))
    form = await request.form()
    try:
        concurrent = _opt_float(form.get("max_concurrent_jobs"))
        storage_gb = _opt_float(form.get("storage_gb"))
        job_service.set_quota(
            session,
            runtime(request),
            company.id,
            weight=_opt_float(form.get("weight")) or 1.0,
            max_concurrent_jobs=None if concurrent is None else int(concurrent),
            cpu_hours_per_month=_opt_float(form.get("cpu_hours_per_month")),
            gpu_hours_per_month=_opt_float(form.get("gpu_hours_per_month")),
            storage_bytes=None if storage_gb is None else int(storage_gb * 1024**3),
        )
    except ValueError:
        session.rollback()
        return _admin_page(request, session, 400, [gettext(request.state.lang, "Enter numbers only.")])
    except PlatformError as e:
        session.rollback()
        return _admin_page(request, session, 400, [message(e, request)])
    return redirect("/compute/admin", "saved")
