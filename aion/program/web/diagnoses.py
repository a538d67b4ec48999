"""Pages: AI-readiness diagnosis (consultant or self-assessment), its report as PDF."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from aion.accounts import policy as accounts_policy
from aion.accounts.models import Company, User
from aion.accounts.service import list_companies
from aion.core.tenancy import get_scoped
from aion.program import policy
from aion.program.models import Diagnosis
from aion.program.service import diagnoses as svc
from aion.program.service.common import InputError, today_kst
from aion.program.web.charts import radar_chart
from aion.program.web.common import err, page
from aion.web.deps import CurrentUser, SessionDep
from aion.web.forms import redirect

router = APIRouter()


def _may_create(user: User, company_id: int) -> str:
    """The kind of assessment ``user`` makes for the company, or 403."""
    if policy.can_assess(user):
        return "consultant"
    if policy.can_self_assess(user, company_id):
        return "self"
    accounts_policy.require(False)
    return ""


@router.get("/program/diagnoses")
def diagnosis_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    accounts_policy.require(policy.can_assess(user) or user.company_id is not None)
    return page(
        request,
        "program/diagnoses.html",
        diagnoses=svc.list_all(session),
        companies=list_companies(session),
        can_assess=policy.can_assess(user),
    )


@router.get("/program/diagnoses/new")
def diagnosis_new(request: Request, session: SessionDep, user: CurrentUser, company_id: int) -> Response:
    company = get_scoped(session, Company, company_id)
    kind = _may_create(user, company.id)
    return page(
        request,
        "program/diagnosis_form.html",
        company=company,
        kind=kind,
        q=svc.questionnaire(session),
        values={},
        focus=[],
        today=today_kst().isoformat(),
    )


@router.post("/program/diagnoses/new")
async def diagnosis_create(
    request: Request, session: SessionDep, user: CurrentUser, company_id: int
) -> Response:
    company = get_scoped(session, Company, company_id)
    kind = _may_create(user, company.id)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    focus = [v for v in form.getlist("focus") if isinstance(v, str)]
    try:
        try:
            on = date.fromisoformat(values.get("assessed_on", "") or today_kst().isoformat())
        except ValueError as e:
            raise InputError("진단일 형식이 잘못되었습니다 / Invalid assessment date") from e
        d = svc.create(
            session,
            company,
            user,
            assessor=kind,
            answers=values,
            focus=focus,
            assessed_on=on,
            note=values.get("note", ""),
        )
    except InputError as e:
        return page(
            request,
            "program/diagnosis_form.html",
            400,
            company=company,
            kind=kind,
            q=svc.questionnaire(session),
            values=values,
            focus=focus,
            today=values.get("assessed_on", ""),
            errors=[err(request, e)],
        )
    return redirect(f"/program/diagnoses/{d.id}?done=created")


@router.get("/program/diagnoses/{diagnosis_id}")
def diagnosis_detail(request: Request, session: SessionDep, user: CurrentUser, diagnosis_id: int) -> Response:
    d = get_scoped(session, Diagnosis, diagnosis_id)
    lang = request.state.lang
    result = svc.engine_diagnosis(session, d)
    comparison = svc.comparison(session, d)
    axes = [ds.name.get(lang) for ds in result.result.dimensions]
    series = [
        (
            "현재 / Current" if lang == "ko" else "Current",
            [ds.score for ds in result.result.dimensions],
            "#1f6feb",
        )
    ]
    if comparison is not None:
        series.append(
            (
                "기준 / Baseline" if lang == "ko" else "Baseline",
                [ds.score for ds in comparison.baseline.dimensions],
                "#d97706",
            )
        )
    series.append(
        (
            "목표 / Target" if lang == "ko" else "Target",
            [float(ds.target) for ds in result.result.dimensions],
            "#16a34a",
        )
    )
    svg = radar_chart(axes, series, title="AI readiness")
    return page(
        request,
        "program/diagnosis_detail.html",
        d=d,
        result=result,
        comparison=comparison,
        radar=Markup(svg),
        is_baseline=svc.baseline_id(session, d.company_id) == d.id,
    )  # noqa: S704


@router.get("/program/diagnoses/{diagnosis_id}/report.pdf")
def diagnosis_pdf(session: SessionDep, user: CurrentUser, diagnosis_id: int) -> Response:
    d = get_scoped(session, Diagnosis, diagnosis_id)
    pdf = svc.report_pdf(session, d)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="diagnosis-{d.id}.pdf"'},
    )


@router.get("/program/questionnaire")
def questionnaire_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    accounts_policy.require(policy.can_manage_calls(user))
    q = svc.questionnaire(session)
    return page(request, "program/questionnaire.html", q=q, text=svc.as_yaml(q))


@router.post("/program/questionnaire")
async def questionnaire_save(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    accounts_policy.require(policy.can_manage_calls(user))
    form = await request.form()
    text, note = str(form.get("text", "")), str(form.get("note", ""))
    try:
        svc.save_version(session, text, user, note)
    except InputError as e:
        return page(
            request,
            "program/questionnaire.html",
            400,
            q=svc.questionnaire(session),
            text=text,
            errors=[err(request, e)],
        )
    return redirect("/program/questionnaire?done=saved")
