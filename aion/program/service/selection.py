"""Aggregation, ranking and selection of a call's applications: moderation of scores, the
confirmed decisions (support opened for the selected, decision letters queued), and a selected
company's withdrawal with the first reserve moving up. Assignments and score sheets are
``review.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.accounts.models import User
from aion.program.errors import EvaluationError
from aion.program.evaluation.aggregate import ApplicationScore, aggregate_application, get_aggregator
from aion.program.evaluation.letters import DECISIONS, LetterInfo, letter_text, render_decision_letter
from aion.program.evaluation.moderation import Moderation as ModerationRecord
from aion.program.evaluation.moderation import excluded_evaluators
from aion.program.evaluation.ranking import RankedApplication, Selection, rank
from aion.program.evaluation.ranking import select as select_n
from aion.program.models import Application, Assignment, Moderation, ProgramCall, Support
from aion.program.service import mail
from aion.program.service.common import InputError, fail, now, rubric_of
from aion.program.service.review import CATEGORY, call_assignments, reviewable, sheet_of


# -- aggregation, ranking, selection ----------------------------------------------------
@dataclass(frozen=True)
class RankingView:
    call: ProgramCall
    scores: dict[int, ApplicationScore]
    ranked: list[RankedApplication]
    selection: Selection
    unscored: list[Application]
    apps: dict[int, Application]
    assignments: list[Assignment]


def moderations(session: Session, call: ProgramCall) -> list[Moderation]:
    return list(
        session.scalars(
            select(Moderation)
            .join(Assignment, Assignment.id == Moderation.assignment_id)
            .where(Assignment.call_id == call.id)
        )
    )


def ranking(session: Session, call: ProgramCall) -> RankingView:
    rubric = rubric_of(call)
    agg = get_aggregator(call.aggregation)
    asg = call_assignments(session, call)
    by_id = {a.id: a for a in asg}
    mods = [
        ModerationRecord(
            str(by_id[m.assignment_id].application_id),
            str(by_id[m.assignment_id].evaluator_id),
            m.action,
            m.reason,
            m.by,
            m.at,
        )
        for m in moderations(session, call)
    ]
    scores: dict[int, ApplicationScore] = {}
    unscored: list[Application] = []
    apps = {a.id: a for a in reviewable(session, call)}
    by_app: dict[int, list[Assignment]] = {}
    for a in asg:
        if not a.excluded and a.submitted_at:
            by_app.setdefault(a.application_id, []).append(a)
    for app in apps.values():
        sheets = [sheet_of(a) for a in by_app.get(app.id, [])]
        if not sheets:
            unscored.append(app)
            continue
        scores[app.id] = aggregate_application(
            str(app.id),
            sheets,
            rubric,
            agg,
            excluded=excluded_evaluators(mods, str(app.id)),
            submitted_at=app.submitted_at,
        )
    ranked = rank(list(scores.values()), rubric)
    sel = select_n(ranked, call.n_select, reserves=call.n_reserve, min_score=call.min_score)
    return RankingView(call, scores, ranked, sel, unscored, apps, asg)


def moderate(session: Session, a: Assignment, action: str, reason: str, by: User) -> None:
    try:
        ModerationRecord(str(a.application_id), str(a.evaluator_id), action, reason, by.email, now())
    except EvaluationError as e:
        raise InputError(str(e)) from e
    session.add(Moderation(assignment_id=a.id, action=action, reason=reason.strip(), by=by.email, at=now()))
    if action == "rescore":
        a.submitted_at, a.total = None, None
    session.flush()


def confirm_selection(session: Session, call: ProgramCall, by: User) -> RankingView:
    """Write the decisions, open support for the selected, and send the decision letters."""
    if call.decided_at is not None:
        raise fail("이미 선정이 확정되었습니다", "The selection was already confirmed")
    view = ranking(session, call)
    if view.selection.needs_decision:
        raise fail(
            "선정 경계에 동점이 있어 운영자 결정(조정)이 필요합니다",
            "A tie straddles the cut-off: moderate the scores before confirming",
        )
    if view.unscored:
        raise fail("평가가 끝나지 않은 신청서가 있습니다", "Some applications have no submitted score yet")
    decided = now()
    positions = {r.application_id: i for i, r in enumerate(view.selection.reserve, start=1)}
    by_rank = {r.application_id: r for r in view.ranked}
    from aion.program.evaluation.letters import decision_of

    for app_id, app in view.apps.items():
        r = by_rank[str(app_id)]
        app.decision = decision_of(view.selection, str(app_id))
        app.rank, app.score, app.status, app.decided_at = r.rank, r.score, "decided", decided
        app.reserve_position = positions.get(str(app_id))
        if app.decision == "selected":
            _open_support(session, call, app, status="agreed")
        _send_letter(session, call, app)
    call.decided_at = decided
    session.flush()
    return view


def letter_info(call: ProgramCall, app: Application) -> LetterInfo:
    if app.decision not in DECISIONS:
        raise fail("아직 결정되지 않은 신청서입니다", "This application has no decision yet")
    return LetterInfo(
        call_title=call.title,
        agency=call.agency.name,
        company_name=app.company.name,
        receipt_no=app.receipt_no or "-",
        decision=app.decision or "pending",
        issued_on=(app.decided_at or now()).date(),
        score=app.score,
        reserve_position=app.reserve_position,
    )


def letter_pdf(call: ProgramCall, app: Application) -> bytes:
    return render_decision_letter(letter_info(call, app))


def withdraw(session: Session, app: Application, reason: str, by: User) -> Application | None:
    """A selected company withdraws: its support is cancelled and the first reserve moves up.

    Returns the application that moved up (None when the reserve list is empty).
    """
    if app.decision != "selected":
        raise fail("선정된 신청서만 포기 처리할 수 있습니다", "Only a selected application can withdraw")
    if len(reason.strip()) < 5:
        raise fail("포기 사유를 5자 이상 입력하십시오", "Give the reason in at least 5 characters")
    for s in session.scalars(select(Support).where(Support.application_id == app.id)):
        session.delete(s)
    app.decision = "withdrawn"
    call = app.call
    reserves = sorted(
        (a for a in reviewable(session, call) if a.decision == "reserve" and a.reserve_position),
        key=lambda a: a.reserve_position or 0,
    )
    mail.queue(
        session,
        app.company.contact_email,
        f"[AI-on] {call.title} 선정 포기 처리",
        f"선정 포기가 처리되었습니다: {reason.strip()}\nThe withdrawal was recorded: {reason.strip()}",
        company_id=app.company_id,
    )
    session.flush()
    if not reserves:
        return None
    up = reserves[0]
    up.decision, up.reserve_position = "selected", None
    for other in reserves[1:]:
        other.reserve_position = (other.reserve_position or 1) - 1
    _open_support(session, call, up)
    _send_letter(session, call, up)
    session.flush()
    return up


def _open_support(session: Session, call: ProgramCall, app: Application, status: str | None = None) -> None:
    """The support record of a selected application (``status`` None: the model's default)."""
    extra = {"status": status} if status else {}
    session.add(
        Support(
            company_id=app.company_id,
            application_id=app.id,
            agency_id=call.agency_id,
            track=call.track,
            year=call.year,
            category=CATEGORY.get(call.track, call.track),
            title=call.title,
            **extra,
        )
    )


def _send_letter(session: Session, call: ProgramCall, app: Application) -> None:
    """Queue the decision letter to the applicant's contact, Korean then English."""
    title, body = letter_text(letter_info(call, app))
    mail.queue(
        session, app.company.contact_email, title.ko, f"{body.ko}\n\n{body.en}", company_id=app.company_id
    )
