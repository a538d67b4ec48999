"""What the platform shows a company's users on the dashboard: their inspection and process
models (with the next step when there are none), and their jobs.

Every query runs on the request's session, which is scoped to the user's company.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.accounts.models import User
from aion.platform.models import Dataset, DatasetKind, JobRecord, RegisteredModel
from aion.web.dashboard import Panel, PanelRow

MAX_ROWS = 5
COMPANY_ROLES = frozenset({"company_admin", "company_member"})
JOB_TONES = {"queued": "busy", "running": "busy", "succeeded": "good", "failed": "bad", "cancelled": ""}


def panels(session: Session, user: User) -> list[Panel]:
    if user.role not in COMPANY_ROLES:
        return []  # the agency's staff see companies and the program; a company's users, their work
    models = list(session.scalars(select(RegisteredModel).order_by(RegisteredModel.updated_at.desc())))
    datasets = list(session.scalars(select(Dataset).order_by(Dataset.created_at.desc())))
    return [inspection_panel(models, datasets), process_panel(models, datasets), jobs_panel(session)]


def _model_rows(models: Iterable[RegisteredModel], kind: str) -> list[PanelRow]:
    rows = []
    for m in models:
        if m.kind != kind or not m.versions:
            continue
        v = m.versions[-1]
        base = f"/models/{m.id}/versions/{v.id}"
        auroc = (v.metrics or {}).get("image_auroc")
        extra: tuple[tuple[str, str], ...]
        if kind == "inspection":
            extra = ((base + "/report", "Evaluation report"), (base + "/try", "Try a photo"))
        else:
            extra = ((base + "/alarms", "Alarms"),)
        rows.append(
            PanelRow(
                name=m.name,
                href=f"/models/{m.id}",
                note="v{n} · image AUROC {auroc}" if isinstance(auroc, int | float) else "version {n}",
                note_params={
                    "n": v.number,
                    "auroc": f"{auroc:.3f}" if isinstance(auroc, int | float) else "",
                },
                tone="good",
                extra=extra,
            )
        )
    return rows


def _untrained(models: list[RegisteredModel], datasets: list[Dataset], kind: str) -> list[PanelRow]:
    """Data sets of ``kind`` no model was trained from yet: the next step is training."""
    trained = {m.dataset_id for m in models}
    return [
        PanelRow(name=d.name, href=f"/datasets/{d.id}", note="Not trained yet", extra=_train_link(d))
        for d in datasets
        if d.kind == kind and d.id not in trained
    ]


def _train_link(d: Dataset) -> tuple[tuple[str, str], ...]:
    """Where training starts: an inspection set's latest version, a sensor set's normal period."""
    if d.kind == DatasetKind.SENSOR_SERIES:
        return ((f"/datasets/{d.id}/process", "Start training"),)
    if d.versions:
        return ((f"/datasets/{d.id}/versions/{d.versions[-1].id}", "Start training"),)
    return ()


def inspection_panel(models: list[RegisteredModel], datasets: list[Dataset]) -> Panel:
    rows = _model_rows(models, "inspection") + _untrained(models, datasets, DatasetKind.INSPECTION_IMAGES)
    return Panel(
        key="inspection",
        title="Visual inspection",
        rows=tuple(rows[:MAX_ROWS]),
        empty=(
            "No inspection model yet: create an inspection data set, upload a zip of good (ok/) and "
            "defective (ng/) photos, and start training from its version."
        ),
        more=("/models", "All models") if rows else ("/datasets", "New data set"),
    )


def process_panel(models: list[RegisteredModel], datasets: list[Dataset]) -> Panel:
    rows = _model_rows(models, "process") + _untrained(models, datasets, DatasetKind.SENSOR_SERIES)
    return Panel(
        key="process",
        title="Process monitoring",
        rows=tuple(rows[:MAX_ROWS]),
        empty=(
            "No process model yet: upload a sensor log as a sensor time series data set, "
            "mark a normal period and train."
        ),
        more=("/process", "Open process monitoring"),
    )


def jobs_panel(session: Session) -> Panel:
    jobs = list(session.scalars(select(JobRecord).order_by(JobRecord.submitted_at.desc()).limit(50)))
    active = [j for j in jobs if j.state in ("queued", "running")]
    shown = (active + [j for j in jobs if j not in active])[:MAX_ROWS]
    rows = tuple(
        PanelRow(
            name=j.name or j.id[:8],
            href=f"/jobs/{j.id}",
            note="running · {pct}%" if j.state == "running" else j.state,
            note_params={"pct": round(j.progress * 100)},
            tone=JOB_TONES.get(j.state, ""),
        )
        for j in shown
    )
    running = sum(1 for j in active if j.state == "running")
    return Panel(
        key="jobs",
        title="Jobs",
        rows=rows,
        empty="No jobs yet. Start one from a data set version.",
        more=("/jobs", "All jobs"),
        summary="{running} running, {queued} queued" if active else "",
        summary_params={"running": running, "queued": len(active) - running},
    )
