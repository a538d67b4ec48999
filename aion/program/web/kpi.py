"""Pages: KPI dashboard with charts and exports, the company journey, the e-mail outbox."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select

from aion.accounts import policy as accounts_policy
from aion.accounts.models import Company
from aion.core.tenancy import get_scoped
from aion.program import policy
from aion.program.kpi.outcomes import METRICS
from aion.program.models import Outcome, Support
from aion.program.service import calls as calls_svc
from aion.program.service import diagnoses as diag_svc
from aion.program.service import kpi as svc
from aion.program.service import mail
from aion.program.service import support as support_svc
from aion.program.service.common import today_kst
from aion.program.web.charts import bar_chart
from aion.program.web.common import page
from aion.web.deps import CurrentUser, SessionDep

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/program/kpi")
def kpi_page(request: Request, session: SessionDep, user: CurrentUser, year: int | None = None) -> Response:
    accounts_policy.require(policy.can_view_kpi(user))
    year = year or today_kst().year
    lang = request.state.lang
    report = svc.report(session, year)
    totals = report.select("total", year=year)
    names = [report.indicator(r.indicator).name.get(lang) for r in totals]
    chart = bar_chart(
        names,
        [
            ("목표" if lang == "ko" else "Target", [r.target or 0 for r in totals], "#94a3b8"),
            ("실적" if lang == "ko" else "Actual", [r.actual for r in totals], "#1f6feb"),
        ],
        title=f"KPI {year}",
    )
    return page(
        request,
        "program/kpi.html",
        year=year,
        report=report,
        totals=totals,
        agencies=report.select("agency", year=year),
        tracks=report.select("track", year=year),
        chart=Markup(chart),
    )  # noqa: S704 - built from escaped parts


def _download(data: bytes, media: str, name: str) -> Response:
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/program/kpi.xlsx")
def kpi_xlsx(session: SessionDep, user: CurrentUser, year: int) -> Response:
    accounts_policy.require(policy.can_view_kpi(user))
    with tempfile.TemporaryDirectory() as tmp:
        path = svc.write_xlsx(session, year, Path(tmp) / "kpi.xlsx")
        return _download(path.read_bytes(), XLSX, f"kpi-{year}.xlsx")


@router.get("/program/kpi.pdf")
def kpi_pdf(session: SessionDep, user: CurrentUser, year: int) -> Response:
    accounts_policy.require(policy.can_view_kpi(user))
    return _download(svc.pdf_bytes(session, year), "application/pdf", f"kpi-{year}.pdf")


@router.get("/program/comparison.xlsx")
def comparison_xlsx(session: SessionDep, user: CurrentUser, year: int) -> Response:
    accounts_policy.require(policy.can_view_kpi(user))
    with tempfile.TemporaryDirectory() as tmp:
        path = svc.write_comparison_xlsx(session, [year - 1, year], Path(tmp) / "comparison.xlsx")
        return _download(path.read_bytes(), XLSX, f"comparison-{year}.xlsx")


@router.get("/program/companies/{company_id}/journey")
def journey(request: Request, session: SessionDep, user: CurrentUser, company_id: int) -> Response:
    company = get_scoped(session, Company, company_id)
    accounts_policy.require(policy.can_view_journey(user, company.id))
    support = list(
        session.scalars(select(Support).where(Support.company_id == company.id).order_by(Support.year))
    )
    outcomes = list(
        session.scalars(
            select(Outcome).where(Outcome.company_id == company.id).order_by(Outcome.year, Outcome.metric)
        )
    )
    diagnoses = diag_svc.of_company(session, company.id)
    return page(
        request,
        "program/journey.html",
        company=company,
        applications=calls_svc.company_applications(session, company.id),
        diagnoses=diagnoses,
        baseline=diag_svc.baseline_id(session, company.id),
        support=support,
        outcomes=outcomes,
        can_assess=policy.can_assess(user) or policy.can_self_assess(user, company.id),
        metrics=METRICS,
        duplicates=support_svc.duplicates(session, company),
        year=today_kst().year,
    )


@router.get("/program/outbox")
def outbox(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    accounts_policy.require(policy.can_manage_calls(user))
    return page(
        request, "program/outbox.html", messages=mail.list_outbox(session), smtp=mail.smtp_configured()
    )
