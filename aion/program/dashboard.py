"""What the program shows on the dashboard: an evaluator's reviews still to do."""

from __future__ import annotations

from sqlalchemy.orm import Session

from aion.accounts.models import User
from aion.program import policy
from aion.program.models import Assignment, ProgramCall
from aion.program.service import review as svc
from aion.web.dashboard import Panel, PanelRow

#: Assignment states an evaluator still has to act on.
TO_DO = ("declare", "scoring")
MAX_ROWS = 8


def panels(session: Session, user: User) -> list[Panel]:
    """An evaluator's reviews: the ones to do first, each under the name the evaluator may see
    (an alias in a blind review until the declaration)."""
    if not policy.is_evaluator(user):
        return []
    assignments = svc.my_assignments(session, user)
    to_do = [a for a in assignments if a.state in TO_DO]
    rows = tuple(
        PanelRow(name=_name(session, a), href=f"/program/assignments/{a.id}", note=a.state, tone="busy")
        for a in to_do[:MAX_ROWS]
    )
    done = sum(1 for a in assignments if a.state == "submitted")
    return [
        Panel(
            key="reviews",
            title="My reviews",
            rows=rows,
            empty="You have no assignments yet." if not assignments else "Every review is submitted.",
            more=("/program/reviews", "My reviews"),
            summary="{todo} to do, {done} submitted" if assignments else "",
            summary_params={"todo": len(to_do), "done": done},
        )
    ]


def _name(session: Session, a: Assignment) -> str:
    call = session.get(ProgramCall, a.call_id)
    who = str(svc.view_for_evaluator(session, a)["company_name"])
    return f"{call.title} · {who}" if call is not None else who
