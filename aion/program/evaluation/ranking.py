"""Ranked list with documented tie-breaks, and selection of N with a reserve list.

Tie-break (the usual rule of Korean public calls, 동점자 처리 기준):

1. higher aggregated total (compared at 2 decimals);
2. higher points on the highest-weighted criterion, then the next, ... (equal weights in
   rubric order);
3. earlier application submission;
4. still equal: the applications share the rank (competition ranking 1, 2, 2, 4) and are
   marked ``tied`` for the operator to decide. The list shows them by application id.

>>> from aion.program.evaluation.aggregate import ApplicationScore
>>> scores = [ApplicationScore(a, s, {}, {}, ()) for a, s in [("A", 80), ("B", 91), ("C", 80), ("D", 70)]]
>>> [(r.rank, r.application_id) for r in rank(scores)]
[(1, 'B'), (2, 'A'), (2, 'C'), (4, 'D')]
>>> sel = select(rank(scores), 1, reserves=2)
>>> [r.application_id for r in sel.selected], [r.application_id for r in sel.reserve]
(['B'], ['A', 'C'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aion.program.errors import EvaluationError
from aion.program.evaluation.aggregate import ApplicationScore
from aion.program.evaluation.rubric import Rubric

__all__ = ["RankedApplication", "Selection", "rank", "select"]

_LATEST = datetime.max.replace(tzinfo=None)


@dataclass(frozen=True)
class RankedApplication:
    rank: int
    application_id: str
    score: float
    tied: bool  # shares its rank after every tie-break
    decided_by: str  # "score", "criterion:<id>", "submitted", or "tie"


@dataclass(frozen=True)
class Selection:
    selected: tuple[RankedApplication, ...]
    reserve: tuple[RankedApplication, ...]  # in order: the first reserve moves up first
    needs_decision: tuple[RankedApplication, ...]  # a tie straddling the cut-off
    below_minimum: tuple[RankedApplication, ...]  # under the minimum score
    not_selected: tuple[RankedApplication, ...]


def _key(s: ApplicationScore, order: Sequence[str]) -> tuple[object, ...]:
    crit = tuple(-round(s.criteria.get(c, 0.0), 2) for c in order)
    sub = _LATEST
    if s.submitted_at is not None:
        at = s.submitted_at
        sub = at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo is not None else at
    return (-round(s.score, 2), *crit, sub)


def rank(scores: Sequence[ApplicationScore], rubric: Rubric | None = None) -> list[RankedApplication]:
    """Rank applications; ``rubric`` gives the criterion order for the second tie-break.

    Without a rubric, criteria are compared in the order of the first score's mapping.
    Aware submission times are compared in UTC; naive ones as given.
    """
    ids = [s.application_id for s in scores]
    if len(set(ids)) != len(ids):
        raise EvaluationError(f"지원서 ID 중복: {ids} / Duplicate application ids: {ids}")
    order: list[str] = []
    if rubric is not None:
        order = rubric.tie_break_order()
    elif scores:
        order = list(scores[0].criteria)
    keyed = sorted(((_key(s, order), s.application_id, s) for s in scores), key=lambda t: (t[0], t[1]))
    out: list[RankedApplication] = []
    for i, (key, app_id, s) in enumerate(keyed):
        same_prev = i > 0 and keyed[i - 1][0] == key
        same_next = i + 1 < len(keyed) and keyed[i + 1][0] == key
        rank_no = out[-1].rank if same_prev else i + 1
        decided = "tie" if (same_prev or same_next) else _decided_by(key, keyed, i, order)
        out.append(RankedApplication(rank_no, app_id, s.score, same_prev or same_next, decided))
    return out


def _decided_by(
    key: tuple[object, ...],
    keyed: Sequence[tuple[tuple[object, ...], str, object]],
    i: int,
    order: Sequence[str],
) -> str:
    """Which key separated this application from its nearest neighbour."""
    names = ["score", *(f"criterion:{c}" for c in order), "submitted"]
    first_diff = 0
    for j in (i - 1, i + 1):
        if 0 <= j < len(keyed):
            other = keyed[j][0]
            k = next(n for n, (a, b) in enumerate(zip(key, other, strict=True)) if a != b)
            first_diff = max(first_diff, k)
    return names[first_diff]


def select(
    ranked: Sequence[RankedApplication],
    n: int,
    *,
    reserves: int = 0,
    min_score: float | None = None,
) -> Selection:
    """Select ``n`` applications and a reserve list of ``reserves`` from a ranked list.

    Applications under ``min_score`` are never selected nor reserved. A group of tied
    applications that does not fit in the remaining places is neither selected nor
    reserved: it goes to ``needs_decision`` and the selection stops there, so an operator
    decides (and records why) instead of the software picking silently.
    """
    if n < 0 or reserves < 0:
        raise EvaluationError(
            f"선정 수와 예비 수는 0 이상이어야 합니다: n={n}, reserves={reserves} / "
            f"n and reserves must be >= 0: n={n}, reserves={reserves}"
        )
    ordered = sorted(ranked, key=lambda r: (r.rank, r.application_id))
    below = tuple(r for r in ordered if min_score is not None and r.score < min_score)
    eligible = [r for r in ordered if not (min_score is not None and r.score < min_score)]
    groups: list[list[RankedApplication]] = []
    for r in eligible:
        if groups and groups[-1][0].rank == r.rank:
            groups[-1].append(r)
        else:
            groups.append([r])
    selected: list[RankedApplication] = []
    reserve: list[RankedApplication] = []
    undecided: list[RankedApplication] = []
    rest: list[RankedApplication] = []
    stage = "select"
    for g in groups:
        if stage == "select":
            if len(selected) + len(g) <= n:
                selected.extend(g)
                continue
            if len(selected) < n:
                undecided.extend(g)  # straddles the selection cut-off
                stage = "done"
                continue
            stage = "reserve"
        if stage == "reserve":
            if len(reserve) + len(g) <= reserves:
                reserve.extend(g)
                continue
            if len(reserve) < reserves:
                undecided.extend(g)  # straddles the reserve cut-off
                stage = "done"
                continue
            stage = "done"
        rest.extend(g)
    return Selection(tuple(selected), tuple(reserve), tuple(undecided), below, tuple(rest))
