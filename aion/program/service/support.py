"""Support of selected companies (agreement, milestones, deliverables, payments, visits), company
outcomes (baseline, target, actual), and the duplicate-support check across agencies and years.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.accounts.models import Company, User
from aion.program.calls.duplicates import DuplicateFinding, check_new_support, find_duplicate_support
from aion.program.calls.records import SupportRecord
from aion.program.kpi.outcomes import METRICS
from aion.program.models import SUPPORT_EVENTS, Application, Outcome, Support, SupportEvent
from aion.program.service.common import fail

STATUSES = ("agreed", "in_progress", "completed")


def events(session: Session, support: Support) -> list[SupportEvent]:
    return list(
        session.scalars(
            select(SupportEvent).where(SupportEvent.support_id == support.id).order_by(SupportEvent.on)
        )
    )


def add_event(
    session: Session, support: Support, by: User, *, kind: str, on: date, title: str, note: str, amount: int
) -> SupportEvent:
    if kind not in SUPPORT_EVENTS:
        raise fail(f"기록 종류가 올바르지 않습니다: {kind}", f"Invalid record kind: {kind}")
    if not title.strip():
        raise fail("제목을 입력하십시오", "Enter a title")
    if amount < 0:
        raise fail("금액은 0 이상이어야 합니다", "The amount must not be negative")
    ev = SupportEvent(
        support_id=support.id,
        company_id=support.company_id,
        kind=kind,
        on=on,
        title=title.strip()[:200],
        note=note.strip(),
        amount_krw=amount,
        by=by.email,
    )
    session.add(ev)
    session.flush()
    return ev


def update(
    session: Session, support: Support, *, status: str, supplier: str, agreement_on: date | None
) -> None:
    if status not in STATUSES:
        raise fail(f"상태가 올바르지 않습니다: {status}", f"Invalid status: {status}")
    support.status, support.supplier, support.agreement_on = status, supplier.strip()[:200], agreement_on
    session.flush()


def set_outcome(
    session: Session,
    company: Company,
    *,
    year: int,
    metric: str,
    baseline: float | None,
    target: float | None,
    actual: float | None,
) -> Outcome:
    if metric not in METRICS:
        raise fail(f"없는 성과 지표: {metric}", f"Unknown outcome metric: {metric}")
    row = session.scalar(
        select(Outcome).where(
            Outcome.company_id == company.id, Outcome.year == year, Outcome.metric == metric
        )
    )
    if row is None:
        row = Outcome(company_id=company.id, year=year, metric=metric)
        session.add(row)
    row.baseline, row.target, row.actual = baseline, target, actual
    session.flush()
    return row


def _record(s: Support, brn: str) -> SupportRecord:
    return SupportRecord(
        f"S{s.id}",
        brn,
        s.agency.short_name or s.agency.name,
        s.track,
        s.year,
        s.category,
        s.title,
        s.amount_krw,
    )


def duplicates(session: Session, company: Company) -> list[DuplicateFinding]:
    """The same company funded twice for the same thing, across agencies and years."""
    rows = session.scalars(select(Support).where(Support.company_id == company.id))
    return find_duplicate_support([_record(s, company.brn) for s in rows])


def duplicate_warning(session: Session, app: Application, category: str) -> list[DuplicateFinding]:
    """Before selecting ``app``: would its support duplicate earlier support of the company?"""
    history = [
        _record(s, app.company.brn)
        for s in session.scalars(
            select(Support).where(Support.company_id == app.company_id).execution_options(aion_unscoped=True)
        )
        if s.application_id != app.id
    ]
    candidate = SupportRecord(
        f"A{app.id}",
        app.company.brn,
        app.call.agency.short_name,
        app.call.track,
        app.call.year,
        category,
        app.call.title,
    )
    return check_new_support(candidate, history)
