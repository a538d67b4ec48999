"""Evaluation: evaluator assignments, conflict declarations and automatic exclusion grounds,
operator overrides, score sheets (save and finish later, locked on submission). Aggregation,
ranking, selection with a reserve list and decision letters are ``selection.py``'s.

Evaluators have no company scope: they reach an application only through their own
assignment, after declaring conflicts, and see it blind when the call says so.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.accounts.models import Role, User
from aion.core.tenancy import NotFound
from aion.program.errors import EvaluationError
from aion.program.evaluation.blind import BlindPolicy, aliases, redact_record
from aion.program.evaluation.conflicts import (
    Applicant,
    ConsultingRecord,
    Evaluator,
    Override,
    PriorConsultingRule,
    SameOrganisationRule,
    find_conflicts,
)
from aion.program.evaluation.rubric import ScoreSheet
from aion.program.models import (
    Application,
    Assignment,
    Diagnosis,
    EvaluatorProfile,
    ProgramCall,
)
from aion.program.service import mail
from aion.program.service.common import InputError, fail, now, rubric_of, today_kst

UNSCOPED = {"aion_unscoped": True}
IDENTIFYING = ("company_name", "brn", "address", "contact_name", "contact_email", "contact_phone")
CATEGORY = {"solution": "solution:inspection"}


# -- evaluator pool and assignments -----------------------------------------------------
def evaluators(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == Role.EVALUATOR).order_by(User.name)))


def set_profile(
    session: Session, user: User, organisation: str, organisation_brn: str = ""
) -> EvaluatorProfile:
    profile = session.scalar(select(EvaluatorProfile).where(EvaluatorProfile.user_id == user.id))
    if profile is None:
        profile = EvaluatorProfile(user_id=user.id, consulted=[])
        session.add(profile)
    profile.organisation, profile.organisation_brn = organisation.strip(), organisation_brn.strip()
    session.flush()
    return profile


def _engine_evaluator(session: Session, user: User) -> Evaluator:
    profile = session.scalar(select(EvaluatorProfile).where(EvaluatorProfile.user_id == user.id))
    consulted = [ConsultingRecord(c["brn"], int(c["year"])) for c in (profile.consulted if profile else [])]
    # A diagnosis this person made as a consultant is prior consulting for that company.
    for d in session.scalars(
        select(Diagnosis).where(Diagnosis.assessor_id == user.id).execution_options(**UNSCOPED)
    ):
        consulted.append(ConsultingRecord(d.company.brn, d.assessed_on.year))
    return Evaluator(
        str(user.id),
        user.name,
        organisation=profile.organisation if profile else "",
        organisation_brn=profile.organisation_brn if profile else "",
        consulted=tuple(consulted),
    )


def _findings(session: Session, user: User, app: Application) -> list[dict[str, str]]:
    partners = [p.strip() for p in str((app.answers or {}).get("partners", "")).split(",") if p.strip()]
    applicant = Applicant(str(app.id), app.company.brn, app.company.name, tuple(partners))
    found = find_conflicts(
        _engine_evaluator(session, user),
        applicant,
        on=today_kst(),
        rules=(SameOrganisationRule(), PriorConsultingRule()),
    )
    return [{"rule": f.rule, "ko": f.reason.ko, "en": f.reason.en} for f in found]


def reviewable(session: Session, call: ProgramCall) -> list[Application]:
    """Submitted, eligible applications of the call (staff session)."""
    return list(
        session.scalars(
            select(Application)
            .where(
                Application.call_id == call.id, Application.status != "draft", Application.eligible.is_(True)
            )
            .order_by(Application.id)
        )
    )


def assign(session: Session, call: ProgramCall, evaluator: User) -> int:
    """Put ``evaluator`` on every reviewable application of the call; returns how many were new."""
    if evaluator.role != Role.EVALUATOR:
        raise fail("평가위원 계정이 아닙니다", "This user is not an evaluator")
    have = set(
        session.scalars(
            select(Assignment.application_id).where(
                Assignment.call_id == call.id, Assignment.evaluator_id == evaluator.id
            )
        )
    )
    new = 0
    for app in reviewable(session, call):
        if app.id in have:
            continue
        session.add(
            Assignment(
                call_id=call.id,
                application_id=app.id,
                evaluator_id=evaluator.id,
                findings=_findings(session, evaluator, app),
                entries={},
            )
        )
        new += 1
    session.flush()
    if new:
        mail.queue(
            session,
            evaluator.email,
            f"[AI-on] {call.title} 평가 배정",
            f"{new}건의 평가가 배정되었습니다. 이해충돌 여부를 먼저 신고하십시오.\n"
            f"{new} applications were assigned to you; declare conflicts of interest first.",
        )
    return new


def call_assignments(session: Session, call: ProgramCall) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.call_id == call.id)
            .order_by(Assignment.application_id, Assignment.id)
        )
    )


def my_assignments(session: Session, user: User) -> list[Assignment]:
    return list(
        session.scalars(select(Assignment).where(Assignment.evaluator_id == user.id).order_by(Assignment.id))
    )


def assignment_for(session: Session, user: User, assignment_id: int) -> Assignment:
    """The evaluator's own assignment; anybody else's is 'not found'."""
    a = session.get(Assignment, assignment_id)
    if a is None or a.evaluator_id != user.id:
        raise NotFound("Assignment", assignment_id)
    return a


def application_of(session: Session, a: Assignment) -> Application:
    """The assigned application, read past the company scope (the assignment is the permission)."""
    app = session.scalars(
        select(Application).where(Application.id == a.application_id).execution_options(**UNSCOPED)
    ).one()
    return app


def declare(session: Session, a: Assignment, conflict: bool, reason: str) -> None:
    if a.declared_at is not None:
        raise fail("이미 신고했습니다", "The declaration was already made")
    if conflict and len(reason.strip()) < 5:
        raise fail("이해충돌 사유를 5자 이상 입력하십시오", "Describe the conflict in at least 5 characters")
    a.declared_at, a.declared_conflict, a.declaration_reason = now(), conflict, reason.strip()
    # The automatic grounds are checked again at the moment of declaration.
    a.findings = _findings(session, a.evaluator, application_of(session, a))
    session.flush()


def override(session: Session, a: Assignment, reason: str, by: User) -> None:
    if not a.findings or a.declared_conflict:
        raise fail(
            "자동 제외 사유가 있는 배정만 예외 승인할 수 있습니다",
            "Only an automatic exclusion can be overridden",
        )
    try:
        for f in a.findings:
            Override(str(a.evaluator_id), str(a.application_id), f["rule"], reason, by.email)
    except EvaluationError as e:
        raise InputError(str(e)) from e
    a.override_reason, a.override_by = reason.strip(), by.email
    session.flush()


# -- blind view -------------------------------------------------------------------------
def application_record(app: Application) -> dict[str, Any]:
    c = app.company
    return {
        "application_id": str(app.id),
        "company_name": c.name,
        "brn": c.brn,
        "address": c.address,
        "contact_name": c.contact_name,
        "contact_email": c.contact_email,
        "contact_phone": c.contact_phone,
        "receipt_no": app.receipt_no or "",
        **{k: str(v) for k, v in (app.answers or {}).items()},
    }


def blind_policy(call: ProgramCall) -> BlindPolicy:
    extra = {f["name"] for f in call.form_fields if f.get("identifying")}
    return BlindPolicy(
        frozenset(IDENTIFYING) | frozenset(extra) | {"receipt_no"},
        secret=call.blind_secret,
        keep_fields=frozenset({"application_id"}),
    )


def alias_map(session: Session, call: ProgramCall) -> dict[str, str]:
    ids = session.scalars(
        select(Application.id).where(Application.call_id == call.id).execution_options(**UNSCOPED)
    )
    return aliases([str(i) for i in ids], call.blind_secret)


def view_for_evaluator(session: Session, a: Assignment) -> dict[str, Any]:
    app = application_of(session, a)
    record = application_record(app)
    if app.call.blind:
        record = redact_record(
            record, blind_policy(app.call), alias=alias_map(session, app.call)[str(app.id)]
        )
    return record


def display_name(
    session: Session,
    call: ProgramCall,
    app: Application,
    *,
    reveal: bool,
    names: dict[str, str] | None = None,
) -> str:
    """The applicant's alias on a blind call until the selection is revealed, else its name.

    Pass ``names`` (from :func:`alias_map`) when naming many applications of one call.
    """
    if call.blind and not reveal:
        return (names if names is not None else alias_map(session, call))[str(app.id)]
    return app.company.name


# -- scoring ----------------------------------------------------------------------------
def sheet_of(a: Assignment) -> ScoreSheet:
    entries = {k: _entry(v) for k, v in (a.entries or {}).items()}
    return ScoreSheet(str(a.evaluator_id), str(a.application_id), entries, a.submitted_at)


def _entry(v: dict[str, Any]) -> Any:
    from aion.program.evaluation.rubric import Entry

    return Entry(float(v["score"]), str(v.get("comment", "")))


def save_scores(
    session: Session, a: Assignment, call: ProgramCall, values: dict[str, tuple[str, str]], *, submit: bool
) -> None:
    """Store what was entered ("save and finish later"); with ``submit`` validate and lock."""
    if a.state != "scoring":
        raise fail(
            "지금은 점수를 입력할 수 없습니다 (신고 전, 제외 또는 제출 완료)",
            "Scores cannot be entered now (not declared, excluded, or already submitted)",
        )
    rubric = rubric_of(call)
    sheet = sheet_of(a)
    try:
        for cid, (score, comment) in values.items():
            if score.strip() == "":
                continue
            try:
                value = float(score)
            except ValueError as e:
                raise fail(f"점수는 숫자여야 합니다: {cid}", f"A score must be a number: {cid}") from e
            sheet = sheet.with_entry(rubric, cid, value, comment)
        a.entries = {k: {"score": e.score, "comment": e.comment} for k, e in sheet.entries.items()}
        if submit:
            locked = rubric.submit(sheet, now())
            a.submitted_at, a.total = locked.submitted_at, rubric.total(locked)
    except EvaluationError as e:
        session.flush()  # the draft entries are kept
        raise InputError(str(e)) from e
    session.flush()
