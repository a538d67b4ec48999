"""What the platform shows a company's users on the dashboard: their inspection and process
models (with the next step when there are none), and their jobs.

Every query runs on the request's session, which is scoped to the user's company.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from aion.accounts.models import Company, User
from aion.platform import policy
from aion.platform.compute.jobs import JobState
from aion.platform.models import Dataset, DatasetKind, JobRecord, RegisteredModel
from aion.web.dashboard import Panel, PanelRow

MAX_ROWS = 5
COMPANY_ROLES = frozenset({"company_admin", "company_member"})
ACTIVE = tuple(s.value for s in JobState if not s.is_final)  # queued, running
JOB_TONES = {"queued": "busy", "running": "busy", "succeeded": "good", "failed": "bad", "cancelled": ""}


class Family(NamedTuple):
    """A kind of model and the data sets it is trained from, as the dashboard shows them."""

    kind: str  # RegisteredModel.kind, and the panel's key
    dataset_kind: str
    title: str  # message ids from here on
    empty: str
    more: tuple[str, str]  # the page with every such model
    start: tuple[str, str]  # where a user with none begins
    links: tuple[tuple[str, str], ...]  # pages of a model version: (path after its URL, message id)


FAMILIES = (
    Family(
        "inspection",
        DatasetKind.INSPECTION_IMAGES,
        "Visual inspection",
        "No inspection model yet: create an inspection data set, upload a zip of good (ok/) and "
        "defective (ng/) photos, and start training from its version.",
        ("/models", "All models"),
        ("/datasets", "New data set"),
        (("/report", "Evaluation report"), ("/try", "Try a photo")),
    ),
    Family(
        "process",
        DatasetKind.SENSOR_SERIES,
        "Process monitoring",
        "No process model yet: upload a sensor log as a sensor time series data set, "
        "mark a normal period and train.",
        ("/process", "Open process monitoring"),
        ("/process", "Open process monitoring"),
        (("/alarms", "Alarms"),),
    ),
)


def panels(session: Session, user: User) -> list[Panel]:
    if policy.can_admin_compute(user):
        return [compute_panel(session)]
    if user.role not in COMPANY_ROLES:
        return []  # the agency's staff see companies and the program; a company's users, their work
    models = list(
        session.scalars(
            select(RegisteredModel)
            .options(selectinload(RegisteredModel.versions))  # each row shows its latest version
            .order_by(RegisteredModel.updated_at.desc())
        )
    )
    datasets = list(session.scalars(select(Dataset).order_by(Dataset.created_at.desc())))
    return [*(model_panel(f, models, datasets) for f in FAMILIES), jobs_panel(session)]


def model_panel(family: Family, models: list[RegisteredModel], datasets: list[Dataset]) -> Panel:
    """The family's models (the most recently changed first, each at its latest version), then
    its data sets not trained yet; at most ``MAX_ROWS`` rows."""
    rows = _model_rows(family, models)[:MAX_ROWS]
    rows += _untrained(models, datasets, family.dataset_kind, MAX_ROWS - len(rows))
    return Panel(
        key=family.kind,
        title=family.title,
        rows=tuple(rows),
        empty=family.empty,
        more=family.more if rows else family.start,
    )


def _model_rows(family: Family, models: Iterable[RegisteredModel]) -> list[PanelRow]:
    rows = []
    for m in models:
        if m.kind != family.kind or not m.versions:
            continue
        v = m.versions[-1]
        base = f"/models/{m.id}/versions/{v.id}"
        auroc = (v.metrics or {}).get("image_auroc")
        known = isinstance(auroc, int | float)
        rows.append(
            PanelRow(
                name=m.name,
                href=f"/models/{m.id}",
                note="v{n} · image AUROC {auroc}" if known else "version {n}",
                note_params={"n": v.number, "auroc": f"{auroc:.3f}" if known else ""},
                tone="good",
                extra=tuple((base + path, label) for path, label in family.links),
            )
        )
    return rows


def _untrained(
    models: list[RegisteredModel], datasets: list[Dataset], kind: str, limit: int
) -> list[PanelRow]:
    """The first ``limit`` data sets of ``kind`` no model was trained from yet: the next step is
    training (their versions are read for those only)."""
    trained = {m.dataset_id for m in models}
    return [
        PanelRow(name=d.name, href=f"/datasets/{d.id}", note="Not trained yet", extra=_train_link(d))
        for d in itertools.islice((d for d in datasets if d.kind == kind and d.id not in trained), limit)
    ]


def _train_link(d: Dataset) -> tuple[tuple[str, str], ...]:
    """Where training starts: an inspection set's latest version, a sensor set's normal period."""
    if d.kind == DatasetKind.SENSOR_SERIES:
        return ((f"/datasets/{d.id}/process", "Start training"),)
    if d.versions:
        return ((f"/datasets/{d.id}/versions/{d.versions[-1].id}", "Start training"),)
    return ()


def _job_row(j: JobRecord, company: str = "") -> PanelRow:
    return PanelRow(
        name=f"{company} · {j.name or j.id[:8]}" if company else j.name or j.id[:8],
        href=f"/jobs/{j.id}",
        note="running · {pct}%" if j.state == "running" else j.state,
        note_params={"pct": round(j.progress * 100)},
        tone=JOB_TONES.get(j.state, ""),
    )


def _active_counts(session: Session) -> dict[str, int]:
    """How many jobs the session sees queued and running."""
    counts = session.execute(
        select(JobRecord.state, func.count()).where(JobRecord.state.in_(ACTIVE)).group_by(JobRecord.state)
    )
    return {"queued": 0, "running": 0} | {str(state): int(n) for state, n in counts}


def _active(session: Session) -> list[JobRecord]:
    """The jobs running (first) or waiting, oldest first; at most ``MAX_ROWS``."""
    by_state = select(JobRecord).where(JobRecord.state.in_(ACTIVE))
    # "running" sorts after "queued": descending puts the running ones first
    return list(
        session.scalars(by_state.order_by(JobRecord.state.desc(), JobRecord.submitted_at).limit(MAX_ROWS))
    )


def jobs_panel(session: Session) -> Panel:
    """The company's jobs: those running or waiting first, then the latest others."""
    active = _active(session)
    rest = session.scalars(
        select(JobRecord)
        .where(JobRecord.state.not_in(ACTIVE))
        .order_by(JobRecord.submitted_at.desc())
        .limit(MAX_ROWS - len(active))
    )
    counts = _active_counts(session)
    return Panel(
        key="jobs",
        title="Jobs",
        rows=tuple(_job_row(j) for j in [*active, *rest]),
        empty="No jobs yet. Start one from a data set version.",
        more=("/jobs", "All jobs"),
        summary="{running} running, {queued} queued" if any(counts.values()) else "",
        summary_params=counts,
    )


def compute_panel(session: Session) -> Panel:
    """The computing center at a glance (its administrator sees every company): the jobs running
    or waiting, with their companies."""
    active = _active(session)
    ids = {j.company_id for j in active}
    names = (
        dict(session.execute(select(Company.id, Company.name).where(Company.id.in_(ids))).all())
        if ids
        else {}
    )
    counts = _active_counts(session)
    return Panel(
        key="compute",
        title="Computing center",
        rows=tuple(_job_row(j, str(names.get(j.company_id, j.company_id))) for j in active),
        empty="No job is running or waiting.",
        more=("/compute/admin", "Computing center"),
        summary="{running} running, {queued} queued",
        summary_params=counts,
    )
