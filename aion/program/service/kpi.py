"""KPIs rolled up from the records (never typed twice): consultant diagnoses and support.

- ``diagnosis``: companies with a consultant diagnosis in the year (agency: the consultant's);
- ``solution``, ``demonstration`` (verification track), ``incubation``: companies with support
  in the year, by the support's agency and track;
- ``trainees``: academy support records.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.accounts.models import Company
from aion.program.calls.records import CompanyProfile, SupportRecord
from aion.program.kpi.export import export_comparison_xlsx, export_kpi_pdf, export_kpi_xlsx
from aion.program.kpi.outcomes import CompanyYearRow, OutcomeRecord, comparison_group_rows
from aion.program.kpi.rollup import KPIRecord, KPIReport, KPITarget, default_targets, rollup
from aion.program.models import Diagnosis, KpiTarget, Outcome, Support

TRACK_INDICATOR = {
    "solution": "solution",
    "verification": "demonstration",
    "incubation": "incubation",
    "academy": "trainees",
}


def records(session: Session, year: int) -> list[KPIRecord]:
    out: list[KPIRecord] = []
    start, end = date(year, 1, 1), date(year, 12, 31)
    for d in session.scalars(
        select(Diagnosis).where(
            Diagnosis.assessor == "consultant", Diagnosis.assessed_on >= start, Diagnosis.assessed_on <= end
        )
    ):
        agency = d.agency.short_name if d.agency is not None else "-"
        out.append(KPIRecord(year, "diagnosis", agency, "diagnosis", d.company.brn, source_id=f"D{d.id}"))
    for s in session.scalars(select(Support).where(Support.year == year)):
        ind = TRACK_INDICATOR.get(s.track)
        if ind is None:
            continue
        company = session.get(Company, s.company_id)
        brn = company.brn if company is not None else ""
        out.append(KPIRecord(year, ind, s.agency.short_name, s.track, brn, source_id=f"S{s.id}"))
    return out


def targets(session: Session, year: int) -> list[KPITarget]:
    rows = list(session.scalars(select(KpiTarget).where(KpiTarget.year == year)))
    if not rows:
        return default_targets(year)
    return [KPITarget(year, t.indicator, t.target, t.agency, t.track) for t in rows]


def report(session: Session, year: int) -> KPIReport:
    return rollup(records(session, year), targets(session, year), year=year)


def write_xlsx(session: Session, year: int, out: str | Path) -> Path:
    return export_kpi_xlsx(report(session, year), out)


def pdf_bytes(session: Session, year: int, out: str | Path | None = None) -> bytes:
    return export_kpi_pdf(report(session, year), out, title=f"{year}년 제조AI 지원사업 성과 / KPIs {year}")


def comparison_rows(session: Session, years: list[int]) -> list[CompanyYearRow]:
    companies = list(session.scalars(select(Company).order_by(Company.id)))
    brn_of = {c.id: c.brn for c in companies}
    profiles = [CompanyProfile(c.brn, c.name, c.address, 0, c.industry) for c in companies]
    support = [
        SupportRecord(
            f"S{s.id}",
            brn_of[s.company_id],
            s.agency.short_name,
            s.track,
            s.year,
            s.category,
            s.title,
            s.amount_krw,
        )
        for s in session.scalars(select(Support))
    ]
    outcomes = [
        OutcomeRecord(brn_of[o.company_id], o.year, o.metric, o.baseline, o.target, o.actual)
        for o in session.scalars(select(Outcome))
    ]
    return comparison_group_rows(profiles, support, outcomes, years=years)


def write_comparison_xlsx(session: Session, years: list[int], out: str | Path) -> Path:
    return export_comparison_xlsx(comparison_rows(session, years), out)
