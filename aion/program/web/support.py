"""Pages: one support (agreement, milestones, deliverables, payments, visits with notes) and outcomes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from aion.accounts import policy as accounts_policy
from aion.accounts.models import Company
from aion.core.tenancy import get_scoped
from aion.program import policy
from aion.program.kpi.outcomes import METRICS
from aion.program.models import SUPPORT_EVENTS, Support
from aion.program.schemas import parse_int
from aion.program.service import support as svc
from aion.program.service.common import InputError, fail
from aion.program.web.common import err, page
from aion.web.deps import CurrentUser, SessionDep
from aion.web.forms import redirect

router = APIRouter()


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as e:
        raise fail("날짜 형식이 잘못되었습니다", "Invalid date") from e


def _num(value: str) -> float | None:
    value = value.strip().replace(",", "")
    if not value:
        return None
    try:
        return float(value)
    except ValueError as e:
        raise fail(f"숫자를 입력하십시오: {value}", f"Enter a number: {value}") from e


def _ctx(session: SessionDep, support: Support) -> dict[str, Any]:
    return {
        "s": support,
        "events": svc.events(session, support),
        "kinds": SUPPORT_EVENTS,
        "statuses": svc.STATUSES,
    }


@router.get("/program/support/{support_id}")
def support_page(request: Request, session: SessionDep, user: CurrentUser, support_id: int) -> Response:
    support = get_scoped(session, Support, support_id)
    accounts_policy.require(policy.can_view_journey(user, support.company_id))
    return page(request, "program/support.html", can_edit=policy.can_assess(user), **_ctx(session, support))


@router.post("/program/support/{support_id}/events")
def support_event(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    support_id: int,
    kind: Annotated[str, Form()],
    on: Annotated[str, Form()],
    title: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "0",
) -> Response:
    support = get_scoped(session, Support, support_id)
    accounts_policy.require(policy.can_assess(user))
    try:
        svc.add_event(
            session,
            support,
            user,
            kind=kind,
            on=_date(on),
            title=title,
            note=note,
            amount=parse_int(amount or "0", "amount"),
        )
    except InputError as e:
        return _refused(request, session, support, e)
    return redirect(f"/program/support/{support.id}?done=saved")


@router.post("/program/support/{support_id}")
def support_update(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    support_id: int,
    status: Annotated[str, Form()],
    supplier: Annotated[str, Form()] = "",
    agreement_on: Annotated[str, Form()] = "",
) -> Response:
    support = get_scoped(session, Support, support_id)
    accounts_policy.require(policy.can_assess(user))
    try:
        svc.update(
            session,
            support,
            status=status,
            supplier=supplier,
            agreement_on=_date(agreement_on) if agreement_on.strip() else None,
        )
    except InputError as e:
        return _refused(request, session, support, e)
    return redirect(f"/program/support/{support.id}?done=saved")


@router.post("/program/companies/{company_id}/outcomes")
def outcome_save(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    company_id: int,
    year: Annotated[str, Form()],
    metric: Annotated[str, Form()],
    baseline: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    actual: Annotated[str, Form()] = "",
) -> Response:
    company = get_scoped(session, Company, company_id)
    accounts_policy.require(policy.can_assess(user))
    try:
        svc.set_outcome(
            session,
            company,
            year=parse_int(year, "year", minimum=2000),
            metric=metric,
            baseline=_num(baseline),
            target=_num(target),
            actual=_num(actual),
        )
    except InputError as e:
        return page(request, "error.html", 400, status=400, message=err(request, e))
    return redirect(f"/program/companies/{company.id}/journey?done=saved")


METRIC_IDS = tuple(METRICS)


def _refused(request: Request, session: SessionDep, support: Support, e: InputError) -> Response:
    """The support page again, with the input error (400); nothing was saved."""
    return page(
        request,
        "program/support.html",
        400,
        can_edit=True,
        errors=[err(request, e)],
        **_ctx(session, support),
    )
