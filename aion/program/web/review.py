"""Pages: evaluation. Operators assign evaluators and override exclusions with a reason;
evaluators declare conflicts, then score (blind where the call says so); operators see the
ranking, moderate flagged scores and confirm the selection."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from aion.accounts import policy as accounts_policy
from aion.accounts.models import Role, User
from aion.core.tenancy import NotFound
from aion.program import policy
from aion.program.models import Assignment, ProgramCall
from aion.program.service import review as svc
from aion.program.service import selection
from aion.program.service import support as support_svc
from aion.program.service.calls import all_fields
from aion.program.service.common import InputError, rubric_of
from aion.program.text import Text
from aion.program.web.calls import _call
from aion.program.web.common import act, err, form_dict, page
from aion.web.deps import CurrentUser, SessionDep
from aion.web.forms import redirect

router = APIRouter()


# -- operator ---------------------------------------------------------------------------
def _review_ctx(session: SessionDep, call: ProgramCall) -> dict[str, Any]:
    reveal = call.decided_at is not None
    asg = svc.call_assignments(session, call)
    apps = {a.id: a for a in svc.reviewable(session, call)}
    aliases = svc.alias_map(session, call)
    names = {i: svc.display_name(session, call, a, reveal=reveal, names=aliases) for i, a in apps.items()}
    return {"call": call, "assignments": asg, "names": names, "evaluators": svc.evaluators(session)}


@router.get("/program/calls/{call_id}/review")
def review_admin(request: Request, session: SessionDep, user: CurrentUser, call_id: int) -> Response:
    accounts_policy.require(policy.can_manage_calls(user))
    return page(request, "program/review_admin.html", **_review_ctx(session, _call(session, call_id)))


@router.post("/program/calls/{call_id}/evaluators")
def review_assign(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    call_id: int,
    evaluator_id: Annotated[int, Form()],
    organisation: Annotated[str, Form()] = "",
    organisation_brn: Annotated[str, Form()] = "",
) -> Response:
    accounts_policy.require(policy.can_manage_calls(user))
    call = _call(session, call_id)
    ev = session.get(User, evaluator_id)
    if ev is None or ev.role != Role.EVALUATOR:
        raise NotFound("Evaluator", evaluator_id)
    if organisation.strip() or organisation_brn.strip():
        svc.set_profile(session, ev, organisation, organisation_brn)
    try:
        svc.assign(session, call, ev)
    except InputError as e:
        return page(
            request, "program/review_admin.html", 400, errors=[err(request, e)], **_review_ctx(session, call)
        )
    return redirect(f"/program/calls/{call.id}/review?done=assigned")


def _staff_assignment(session: SessionDep, user: User, assignment_id: int) -> Assignment:
    accounts_policy.require(policy.can_manage_calls(user))
    a = session.get(Assignment, assignment_id)
    if a is None:
        raise NotFound("Assignment", assignment_id)
    return a


@router.post("/program/assignments/{assignment_id}/override")
def review_override(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    assignment_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    a = _staff_assignment(session, user, assignment_id)
    call = _call(session, a.call_id)
    try:
        svc.override(session, a, reason, user)
    except InputError as e:
        return page(
            request, "program/review_admin.html", 400, errors=[err(request, e)], **_review_ctx(session, call)
        )
    return redirect(f"/program/calls/{a.call_id}/review?done=overridden")


@router.post("/program/assignments/{assignment_id}/moderate")
def review_moderate(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    assignment_id: int,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    a = _staff_assignment(session, user, assignment_id)
    return act(
        request,
        lambda: selection.moderate(session, a, action, reason, user),
        f"/program/calls/{a.call_id}/ranking?done=moderated",
    )


WITHDRAWN = Text("선정 포기 (예비 순위 승계)", "Withdrawn (the reserve moved up)")


def _decision(view: selection.RankingView, app: Any, computed: Text) -> Text:
    """After confirmation the stored decision counts (a withdrawal moves the reserve up)."""
    if view.call.decided_at is None or app.decision is None:
        return computed
    if app.decision == "withdrawn":
        return WITHDRAWN
    from aion.program.evaluation.letters import DECISIONS

    return DECISIONS.get(app.decision, computed)


def _ranking_rows(session: SessionDep, view: selection.RankingView, reveal: bool) -> list[dict[str, Any]]:
    from aion.program.evaluation.letters import DECISIONS, decision_of

    rows = []
    aliases = svc.alias_map(session, view.call)
    by_app: dict[int, list[Assignment]] = {}
    for a in view.assignments:
        if a.submitted_at:
            by_app.setdefault(a.application_id, []).append(a)
    for r in view.ranked:
        app = view.apps[int(r.application_id)]
        s = view.scores[app.id]
        rows.append(
            {
                "rank": r.rank,
                "app": app,
                "name": svc.display_name(session, view.call, app, reveal=reveal, names=aliases),
                "score": r.score,
                "tied": r.tied,
                "decided_by": r.decided_by,
                "decision": _decision(view, app, DECISIONS[decision_of(view.selection, r.application_id)]),
                "totals": s.totals,
                "flags": {f.evaluator_id for f in s.flags},
                "assignments": by_app.get(app.id, []),
                "duplicates": support_svc.duplicate_warning(
                    session, app, svc.CATEGORY.get(view.call.track, view.call.track)
                ),
            }
        )
    return rows


@router.get("/program/calls/{call_id}/ranking")
def ranking_page(request: Request, session: SessionDep, user: CurrentUser, call_id: int) -> Response:
    accounts_policy.require(policy.can_manage_calls(user))
    call = _call(session, call_id)
    view = selection.ranking(session, call)
    reveal = call.decided_at is not None
    return page(
        request,
        "program/ranking.html",
        call=call,
        view=view,
        rows=_ranking_rows(session, view, reveal),
        unscored=[svc.display_name(session, call, a, reveal=reveal) for a in view.unscored],
    )


@router.get("/program/calls/{call_id}/ranking.csv")
def ranking_csv(session: SessionDep, user: CurrentUser, call_id: int) -> Response:
    """The aggregate export: blind calls show aliases until the selection is confirmed."""
    accounts_policy.require(policy.can_manage_calls(user))
    call = _call(session, call_id)
    view = selection.ranking(session, call)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        ["순위/rank", "지원자/applicant", "점수/score", "동점/tied", "결과/decision", "평가위원별/evaluators"]
    )
    for row in _ranking_rows(session, view, call.decided_at is not None):
        totals = "; ".join(f"{v:.2f}" for v in row["totals"].values())  # type: ignore[attr-defined]
        w.writerow([row["rank"], row["name"], f"{row['score']:.2f}", row["tied"], row["decision"].ko, totals])  # type: ignore[attr-defined]
    return Response(
        "\ufeff" + buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="ranking-{call.id}.csv"'},
    )


@router.post("/program/calls/{call_id}/select")
def ranking_confirm(request: Request, session: SessionDep, user: CurrentUser, call_id: int) -> Response:
    accounts_policy.require(policy.can_manage_calls(user))
    call = _call(session, call_id)
    try:
        selection.confirm_selection(session, call, user)
    except InputError as e:
        view = selection.ranking(session, call)
        return page(
            request,
            "program/ranking.html",
            400,
            call=call,
            view=view,
            errors=[err(request, e)],
            rows=_ranking_rows(session, view, False),
            unscored=[svc.display_name(session, call, a, reveal=False) for a in view.unscored],
        )
    return redirect(f"/program/calls/{call.id}/ranking?done=selected")


# -- evaluator --------------------------------------------------------------------------
@router.get("/program/reviews")
def my_reviews(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    accounts_policy.require(policy.is_evaluator(user))
    asg = svc.my_assignments(session, user)
    calls = {a.call_id: _call(session, a.call_id) for a in asg}
    names = {a.id: _assignment_name(session, a, calls[a.call_id]) for a in asg}
    return page(request, "program/my_reviews.html", assignments=asg, calls=calls, names=names)


def _assignment_name(session: SessionDep, a: Assignment, call: ProgramCall) -> str:
    """Before the declaration an evaluator sees only the alias (blind) or the company name (open)."""
    return str(svc.view_for_evaluator(session, a)["company_name"])


def _assignment_ctx(
    session: SessionDep, a: Assignment, values: dict[str, str] | None = None
) -> dict[str, Any]:
    call = _call(session, a.call_id)
    ctx: dict[str, Any] = {"a": a, "call": call, "name": _assignment_name(session, a, call)}
    if a.state in ("scoring", "submitted"):
        ctx["record"] = svc.view_for_evaluator(session, a)
        ctx["fields"] = all_fields(call)
        ctx["rubric"] = rubric_of(call)
        ctx["values"] = values or {}
    return ctx


@router.get("/program/assignments/{assignment_id}")
def assignment_page(request: Request, session: SessionDep, user: CurrentUser, assignment_id: int) -> Response:
    a = svc.assignment_for(session, user, assignment_id)
    return page(request, "program/assignment.html", **_assignment_ctx(session, a))


@router.post("/program/assignments/{assignment_id}/declare")
def assignment_declare(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    assignment_id: int,
    conflict: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    a = svc.assignment_for(session, user, assignment_id)
    try:
        svc.declare(session, a, conflict == "yes", reason)
    except InputError as e:
        return page(
            request, "program/assignment.html", 400, errors=[err(request, e)], **_assignment_ctx(session, a)
        )
    return redirect(f"/program/assignments/{a.id}?done=declared")


@router.post("/program/assignments/{assignment_id}/score")
async def assignment_score(
    request: Request, session: SessionDep, user: CurrentUser, assignment_id: int
) -> Response:
    a = svc.assignment_for(session, user, assignment_id)
    call = _call(session, a.call_id)
    form = await form_dict(request)
    values = {
        c.id: (form.get(f"score_{c.id}", ""), form.get(f"comment_{c.id}", ""))
        for c in rubric_of(call).criteria
    }
    submit = form.get("action") == "submit"
    try:
        svc.save_scores(session, a, call, values, submit=submit)
    except InputError as e:
        session.commit()  # the draft entries stay
        return page(
            request,
            "program/assignment.html",
            400,
            errors=[err(request, e)],
            **_assignment_ctx(session, a, form),
        )
    return redirect(f"/program/assignments/{a.id}?done={'scored' if submit else 'draft'}")
