"""Demo data: a year of a realistic program (calls per track, applications, blind review,
selection, diagnoses, support, outcomes, KPI targets) made by the engines in
:mod:`aion.program.sample`, stored through the ORM, plus one open call to apply to.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.accounts import service as accounts
from aion.accounts.models import Agency, Company, Role, User
from aion.core.security import new_password
from aion.program.diagnosis.recommend import diagnose
from aion.program.evaluation.letters import decision_of
from aion.program.models import (
    Application,
    Assignment,
    Diagnosis,
    KpiTarget,
    Outcome,
    ProgramCall,
    Support,
    SupportEvent,
)
from aion.program.sample import RUBRIC, sample_program_year
from aion.program.service.common import DEFAULT_RUBRIC, now
from aion.program.service.diagnoses import questionnaire

PLAN = "생산 라인의 불량 데이터를 모아 AI 검사를 시범 적용하고 불량률을 30% 줄인다"


def _size(employees: int) -> str:
    return "micro" if employees < 10 else "small" if employees < 50 else "medium"


def load_demo(session: Session, *, year: int | None = None, scale: float = 0.1) -> None:
    """Store a program year in ``session`` (a system session, after the accounts demo)."""
    year = year or now().year - (1 if now().month < 4 else 0)
    sample = sample_program_year(year, scale=scale)
    agencies = {a.short_name: a for a in session.scalars(select(Agency))}
    lead = next(iter(agencies.values()))
    consultant = session.scalar(select(User).where(User.role == Role.CONSULTANT))
    evaluator = session.scalar(select(User).where(User.role == Role.EVALUATOR))

    companies: dict[str, Company] = {c.brn: c for c in session.scalars(select(Company))}
    for p in sample.companies:
        if p.brn not in companies:
            companies[p.brn] = Company(
                name=p.name,
                brn=p.brn,
                industry=p.industry_code,
                size=_size(p.employees),
                address=p.region,
                contact_email=f"ceo@{p.brn.replace('-', '')}.example",
            )
            session.add(companies[p.brn])
    users: dict[str, User] = {}
    for i, ev in enumerate(sample.evaluators):
        if i == 0 and evaluator is not None:
            users[ev.id] = evaluator
            continue
        users[ev.id] = accounts.create_user(
            session, f"{ev.id}.{year}@evaluators.example", Role.EVALUATOR, new_password(), name=ev.name
        )
    session.flush()

    calls: dict[str, ProgramCall] = {}
    for spec in sample.calls:
        w = spec.window
        calls[spec.id] = ProgramCall(
            code=spec.id,
            year=year,
            track=spec.track,
            agency_id=agencies.get(spec.agency, lead).id,
            title=spec.title.ko,
            description=spec.title.en,
            n_select=spec.n_select,
            n_reserve=spec.reserves,
            min_score=spec.min_score,
            aggregation=spec.aggregation,
            blind=spec.blind,
            blind_secret=secrets.token_hex(16),
            eligibility=[r.to_dict() for r in spec.rules],
            form_fields=[{"name": "plan", "ko": "추진 계획", "kind": "textarea", "required": True}],
            attachments=[],
            rubric=DEFAULT_RUBRIC,
            opens_at=w.opens_at,
            closes_at=w.closes_at,
            extensions=[
                {
                    "previous_close": e.previous_close.isoformat(),
                    "new_close": e.new_close.isoformat(),
                    "reason": e.reason,
                    "by": e.by,
                    "at": e.at.isoformat(),
                }
                for e in w.extensions
            ],
            decided_at=w.effective_close + timedelta(days=21),
        )
        session.add(calls[spec.id])
    session.flush()

    scores = {s.application_id: s for s in sample.scores}
    apps: dict[str, Application] = {}
    for a in sample.applications:
        call = calls[a.call_id]
        sel = sample.selections[a.call_id]
        ranked = {
            r.application_id: r
            for r in (*sel.selected, *sel.reserve, *sel.needs_decision, *sel.below_minimum, *sel.not_selected)
        }
        r = ranked.get(a.id)
        p = next(c for c in sample.companies if c.brn == a.company_brn)
        app = Application(
            call_id=call.id,
            company_id=companies[a.company_brn].id,
            status="decided" if r else "submitted",
            answers={"employees": str(p.employees), "industry_code": p.industry_code, "plan": PLAN},
            receipt_no=a.receipt_no,
            submitted_at=a.submitted_at,
            eligible=a.eligible,
            eligibility_notes=[],
            score=scores[a.id].score if a.id in scores else None,
            rank=r.rank if r else None,
            decision=decision_of(sel, a.id) if r else None,
            reserve_position=[x.application_id for x in sel.reserve].index(a.id) + 1
            if any(x.application_id == a.id for x in sel.reserve)
            else None,
            decided_at=call.decided_at if r else None,
        )
        session.add(app)
        apps[a.id] = app
    session.flush()
    for sheet in sample.sheets:
        app = apps[sheet.application_id]
        session.add(
            Assignment(
                call_id=app.call_id,
                application_id=app.id,
                evaluator_id=users[sheet.evaluator_id].id,
                declared_at=sheet.submitted_at,
                findings=[],
                entries={k: {"score": e.score, "comment": e.comment} for k, e in sheet.entries.items()},
                submitted_at=sheet.submitted_at,
                total=RUBRIC.total(sheet),
            )
        )

    q = questionnaire()
    for asmt in sample.assessments:
        res = diagnose(q, asmt).result
        session.add(
            Diagnosis(
                company_id=companies[asmt.company_brn].id,
                assessor=asmt.assessor,
                assessed_on=asmt.assessed_on,
                answers=dict(asmt.answers),
                focus=sorted(asmt.focus),
                assessor_name=asmt.assessor_name or "",
                assessor_id=consultant.id if asmt.assessor == "consultant" and consultant else None,
                agency_id=agencies.get("UTP", lead).id,
                overall=res.overall,
                band_level=res.band.level,
            )
        )
    app_of_support = {f"{a.id}-S": apps[a.id] for a in sample.applications}
    for s in sample.support:
        if s.agency not in agencies:
            continue  # national programmes outside the consortium
        linked = app_of_support.get(s.id)
        session.add(
            Support(
                company_id=companies[s.company_brn].id,
                application_id=linked.id if linked else None,
                agency_id=agencies[s.agency].id,
                track=s.track,
                year=s.year,
                category=s.category,
                title=s.title,
                amount_krw=s.amount_krw,
                status="in_progress" if s.year == year else "completed",
            )
        )
    session.flush()
    _events(session, year)
    for k in sample.kpi_records:
        if k.indicator == "trainees":
            session.add(
                Support(
                    company_id=companies[k.company_brn].id,
                    agency_id=agencies.get(k.agency, lead).id,
                    track="academy",
                    year=year,
                    category="academy",
                    title="제조 AI 실무 과정",
                    status="completed",
                )
            )
    for o in sample.outcomes:
        session.add(
            Outcome(
                company_id=companies[o.company_brn].id,
                year=o.year,
                metric=o.metric,
                baseline=o.baseline,
                target=o.target,
                actual=o.actual,
            )
        )
    for t in sample.targets:
        session.add(KpiTarget(year=year, indicator=t.indicator, target=t.target))
    _open_call(session, year + (1 if now().year > year else 0), agencies, lead)
    session.flush()


def _events(session: Session, year: int) -> None:
    """Agreement, a milestone and a consultant visit for this year's solution support."""
    for s in session.scalars(select(Support).where(Support.year == year, Support.track == "solution")):
        s.supplier, s.agreement_on = "(주)울산비전솔루션", date(year, 5, 2)
        session.add(
            SupportEvent(
                support_id=s.id,
                company_id=s.company_id,
                kind="milestone",
                on=date(year, 6, 30),
                title="착수 보고",
                done=True,
                by="demo",
            )
        )
        session.add(
            SupportEvent(
                support_id=s.id,
                company_id=s.company_id,
                kind="visit",
                on=date(year, 7, 15),
                title="현장 방문",
                note="검사 지그와 조명 위치를 확정함",
                by="demo",
            )
        )


def _open_call(session: Session, year: int, agencies: dict[str, Agency], lead: Agency) -> None:
    """A call open now, so company users can apply in the demo."""
    opens = now() - timedelta(days=3)
    session.add(
        ProgramCall(
            code=f"{year}-SOL-2",
            year=year,
            track="solution",
            agency_id=agencies.get("UIPA", lead).id,
            title=f"{year}년 AI 솔루션 도입 지원 (2차)",
            description="품질 검사·공정 이상 탐지·안전 AI 도입을 지원합니다.",
            n_select=5,
            n_reserve=2,
            min_score=60.0,
            aggregation="trimmed",
            blind=True,
            blind_secret=secrets.token_hex(16),
            eligibility=[
                {"kind": "region", "allowed": ["울산"]},
                {"kind": "industry", "allowed": ["C"], "excluded": []},
            ],
            form_fields=[
                {"name": "plan", "ko": "추진 계획", "kind": "textarea", "required": True},
                {"name": "problem", "ko": "해결하려는 현장 문제", "kind": "textarea", "required": True},
            ],
            attachments=["사업자등록증"],
            rubric=DEFAULT_RUBRIC,
            opens_at=opens,
            closes_at=opens + timedelta(days=21),
            extensions=[],
        )
    )
