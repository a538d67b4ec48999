"""AI-readiness diagnoses: a company's self-assessment and a consultant's assessment, scored by the
engine; the first diagnosis is the company's baseline; the report is a Korean PDF.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.accounts.models import Company, User
from aion.program.diagnosis.compare import Comparison, compare_assessments
from aion.program.diagnosis.questionnaire import Questionnaire, load_questionnaire
from aion.program.diagnosis.recommend import Diagnosis as EngineDiagnosis
from aion.program.diagnosis.recommend import diagnose
from aion.program.diagnosis.report import render_diagnosis_pdf
from aion.program.diagnosis.scoring import Assessment
from aion.program.errors import QuestionnaireError
from aion.program.models import Diagnosis, QuestionnaireVersion
from aion.program.service.common import InputError, fail


@lru_cache(maxsize=1)
def seed() -> Questionnaire:
    return load_questionnaire()


def questionnaire(session: Session | None = None, version: int | None = None) -> Questionnaire:
    """The questionnaire in use (the operators' latest version, else the seed), or ``version``."""
    if session is None:
        return seed()
    stmt = select(QuestionnaireVersion)
    if version is not None:
        if version == seed().version:
            return seed()
        stmt = stmt.where(QuestionnaireVersion.version == version)
    row = session.scalars(stmt.order_by(QuestionnaireVersion.version.desc()).limit(1)).first()
    return Questionnaire.from_dict(row.data) if row is not None else seed()


def save_version(session: Session, text: str, by: User, note: str = "") -> QuestionnaireVersion:
    """Validate an edited questionnaire (YAML or JSON) and store it as the next version."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise fail("YAML 형식 오류입니다", f"Invalid YAML: {str(e).splitlines()[0]}") from e
    if not isinstance(data, dict):
        raise fail("설문은 키-값 구조여야 합니다", "The questionnaire must be a mapping")
    latest = questionnaire(session)
    data["version"] = max(latest.version, seed().version) + 1
    try:
        q = Questionnaire.from_dict(data)
    except (QuestionnaireError, KeyError, TypeError, ValueError) as e:
        raise InputError(str(e) if " / " in str(e) else f"설문 형식 오류 / Invalid questionnaire: {e}") from e
    row = QuestionnaireVersion(version=q.version, data=q.to_dict(), created_by=by.email, note=note.strip())
    session.add(row)
    session.flush()
    return row


def as_yaml(q: Questionnaire) -> str:
    return yaml.safe_dump(q.to_dict(), allow_unicode=True, sort_keys=False, width=110)


def assessment_of(d: Diagnosis) -> Assessment:
    return Assessment(
        d.company.brn,
        d.assessed_on,
        d.assessor,
        dict(d.answers),
        frozenset(d.focus or []),
        d.assessor_name,
        d.note,
    )


def create(
    session: Session,
    company: Company,
    by: User,
    *,
    assessor: str,
    answers: dict[str, str],
    focus: list[str],
    assessed_on: date,
    note: str = "",
) -> Diagnosis:
    """Score and store one complete assessment (every question answered 0-4)."""
    q = questionnaire(session)
    levels: dict[str, int] = {}
    missing = []
    for qid in q.question_ids():
        raw = answers.get(qid, "").strip()
        if raw == "":
            missing.append(qid)
            continue
        if raw not in {"0", "1", "2", "3", "4"}:
            raise fail(f"응답은 0~4 단계입니다: {qid}", f"Answers are levels 0-4: {qid}")
        levels[qid] = int(raw)
    if missing:
        names = ", ".join(q.question(m).text.ko for m in missing[:3])
        raise fail(
            f"답하지 않은 문항이 {len(missing)}개 있습니다: {names}",
            f"{len(missing)} questions are unanswered: {', '.join(missing[:3])}",
        )
    known = {o.id for f in q.focus for o in f.options}
    try:
        engine_result = diagnose(
            q,
            Assessment(
                company.brn,
                assessed_on,
                assessor,
                levels,
                frozenset(f for f in focus if f in known),
                by.name or by.email,
                note,
            ),
        )
    except QuestionnaireError as e:
        raise InputError(str(e)) from e
    d = Diagnosis(
        company_id=company.id,
        assessor=assessor,
        assessed_on=assessed_on,
        answers=levels,
        focus=sorted(f for f in focus if f in known),
        assessor_name=by.name or by.email,
        assessor_id=by.id,
        agency_id=by.agency_id,
        note=note.strip(),
        overall=engine_result.result.overall,
        band_level=engine_result.result.band.level,
        questionnaire_version=q.version,
    )
    session.add(d)
    session.flush()
    return d


def of_company(session: Session, company_id: int) -> list[Diagnosis]:
    return list(
        session.scalars(
            select(Diagnosis)
            .where(Diagnosis.company_id == company_id)
            .order_by(Diagnosis.assessed_on, Diagnosis.id)
        )
    )


def list_all(session: Session, limit: int = 200) -> list[Diagnosis]:
    return list(
        session.scalars(
            select(Diagnosis).order_by(Diagnosis.assessed_on.desc(), Diagnosis.id.desc()).limit(limit)
        )
    )


def engine_diagnosis(session: Session, d: Diagnosis) -> EngineDiagnosis:
    return diagnose(questionnaire(session, d.questionnaire_version), assessment_of(d))


def comparison(session: Session, d: Diagnosis) -> Comparison | None:
    """The company's series of the same assessor up to ``d``; the first one is the baseline."""
    series = [
        x
        for x in of_company(session, d.company_id)
        if x.assessor == d.assessor and (x.assessed_on, x.id) <= (d.assessed_on, d.id)
    ]
    if len(series) < 2:
        return None
    return compare_assessments([engine_diagnosis(session, x).result for x in series])


def baseline_id(session: Session, company_id: int) -> int | None:
    """The first consultant diagnosis (the first self-assessment when no consultant has assessed)."""
    all_ = of_company(session, company_id)
    consultant = [d for d in all_ if d.assessor == "consultant"]
    first = consultant or all_
    return first[0].id if first else None


def report_pdf(session: Session, d: Diagnosis) -> bytes:
    return render_diagnosis_pdf(
        engine_diagnosis(session, d),
        questionnaire(session, d.questionnaire_version),
        company_name=d.company.name,
        comparison=comparison(session, d),
    )
