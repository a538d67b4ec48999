"""Evaluation: rubric, aggregation (shared contract), outlier flag, ranking, selection."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

import pytest

from aion.program.errors import EvaluationError
from aion.program.evaluation.aggregate import (
    AGGREGATORS,
    ApplicationScore,
    aggregate_application,
    deviation_flags,
    get_aggregator,
)
from aion.program.evaluation.ranking import rank, select
from aion.program.evaluation.rubric import Criterion, Rubric, ScoreSheet
from aion.program.text import Text

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)

RUBRIC = Rubric(
    (
        Criterion("need", Text("필요성", "Need"), 20, 5),
        Criterion("tech", Text("기술성", "Technology"), 40, 5),
        Criterion("plan", Text("추진계획", "Plan"), 30, 10),
        Criterion("bonus", Text("가점", "Bonus"), 10, 1, comment_required=False),
    )
)


def sheet(ev: str, app: str, need: float, tech: float, plan: float, bonus: float = 0) -> ScoreSheet:
    s = ScoreSheet(ev, app)
    for cid, v in (("need", need), ("tech", tech), ("plan", plan)):
        s = s.with_entry(RUBRIC, cid, v, f"{cid} 의견입니다")
    s = s.with_entry(RUBRIC, "bonus", bonus)
    return RUBRIC.submit(s, T0)


# -- rubric ------------------------------------------------------------------------------


def test_weighted_total_on_0_to_100() -> None:
    s = sheet("e1", "a1", need=5, tech=2.5, plan=7, bonus=1)
    # 20*5/5 + 40*2.5/5 + 30*7/10 + 10*1/1 = 20 + 20 + 21 + 10
    assert RUBRIC.total(s) == 71.0
    assert RUBRIC.total(sheet("e1", "a1", 5, 5, 10, 1)) == 100.0
    non100 = Rubric((Criterion("x", Text("x", "x"), 3, 5), Criterion("y", Text("y", "y"), 1, 5)))
    s2 = (
        ScoreSheet("e", "a")
        .with_entry(non100, "x", 5, "충분히 좋음")
        .with_entry(non100, "y", 0, "부족함 많음")
    )
    assert non100.total(s2) == 75.0


def test_comments_are_required_and_sheets_lock_on_submit() -> None:
    draft = ScoreSheet("e1", "a1").with_entry(RUBRIC, "need", 4, "좋음")  # too short
    problems = RUBRIC.problems(draft)
    assert {p.criterion_id for p in problems} == {"need", "tech", "plan", "bonus"}
    with pytest.raises(EvaluationError, match="comment is required"):
        RUBRIC.submit(draft, T0)
    # Save and finish later: the draft keeps what was entered.
    draft = draft.with_entry(RUBRIC, "need", 4, "수요가 명확합니다")
    for cid in ("tech", "plan"):
        draft = draft.with_entry(RUBRIC, cid, 3, "구체적 근거 있음")
    draft = draft.with_entry(RUBRIC, "bonus", 0)  # no comment needed
    done = RUBRIC.submit(draft, T0)
    assert done.locked and not draft.locked
    with pytest.raises(EvaluationError, match="locked"):
        done.with_entry(RUBRIC, "need", 5, "다시 고침니다")
    with pytest.raises(EvaluationError, match="Already submitted"):
        RUBRIC.submit(done, T0)


def test_scores_out_of_range_or_unknown_are_rejected() -> None:
    with pytest.raises(EvaluationError, match="between 0 and 5"):
        ScoreSheet("e", "a").with_entry(RUBRIC, "need", 6, "너무 높은 점수")
    with pytest.raises(EvaluationError, match="speed"):
        ScoreSheet("e", "a").with_entry(RUBRIC, "speed", 1, "없는 항목이다")
    with pytest.raises(EvaluationError):
        Rubric((Criterion("x", Text("x", "x"), 0, 5),))


# -- aggregation contract ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(AGGREGATORS))
def test_aggregator_contract(name: str) -> None:
    agg = get_aggregator(name)
    assert agg.name == name
    assert agg.aggregate([73.0]) == 73.0
    assert agg.aggregate([60, 60, 60]) == 60.0
    values = [55.0, 71.5, 80.0, 92.0, 68.0]
    out = agg.aggregate(values)
    assert min(values) <= out <= max(values)
    assert agg.aggregate(list(reversed(values))) == out  # order does not matter
    assert agg.aggregate([v + 10 for v in values]) == pytest.approx(out + 10)  # shift-equivariant
    with pytest.raises(EvaluationError):
        agg.aggregate([])


def test_aggregators_differ_where_they_should() -> None:
    values = [40.0, 80.0, 82.0, 84.0]
    assert get_aggregator("mean").aggregate(values) == 71.5
    assert get_aggregator("median").aggregate(values) == 81.0
    assert get_aggregator("trimmed").aggregate(values) == 81.0  # drops 40 and 84
    assert get_aggregator("trimmed").aggregate([40.0, 80.0]) == 60.0  # too few to drop
    with pytest.raises(EvaluationError, match="mode"):
        get_aggregator("mode")


def test_flag_when_more_than_ten_percent_from_the_panel_mean() -> None:
    totals = {"e1": 80.0, "e2": 82.0, "e3": 62.0}  # mean 74.67; e3 is 16.96 % below
    flags = deviation_flags(totals)
    assert [f.evaluator_id for f in flags] == ["e3"]
    assert flags[0].deviation == pytest.approx(
        abs(62 - statistics.fmean(totals.values())) / 74.6667, rel=1e-3
    )
    # Exactly 10 % is not "more than".
    assert deviation_flags({"a": 110.0, "b": 90.0}) == []
    assert [f.evaluator_id for f in deviation_flags({"a": 111.0, "b": 89.0})] == ["a", "b"]
    assert deviation_flags({"solo": 10.0}) == []
    assert [f.evaluator_id for f in deviation_flags(totals, threshold=0.5)] == []


def test_aggregate_application_uses_submitted_sheets_and_moderation() -> None:
    sheets = [
        sheet("e1", "a1", 4, 4, 8),
        sheet("e2", "a1", 4, 5, 8),
        sheet("e3", "a1", 1, 1, 2),
        sheet("e1", "a2", 5, 5, 10),
        ScoreSheet("e4", "a1").with_entry(RUBRIC, "need", 5, "미제출 평가표"),  # draft: ignored
    ]
    mean = get_aggregator("mean")
    res = aggregate_application("a1", sheets, RUBRIC, mean)
    assert set(res.totals) == {"e1", "e2", "e3"}
    assert res.score == round(statistics.fmean(res.totals.values()), 2)
    assert "e3" in {f.evaluator_id for f in res.flags}
    assert res.criteria["tech"] == pytest.approx((32 + 40 + 8) / 3, abs=0.01)
    moderated = aggregate_application("a1", sheets, RUBRIC, mean, excluded={"e3"})
    assert set(moderated.totals) == {"e1", "e2"} and moderated.excluded == ("e3",)
    assert moderated.flags == ()
    with pytest.raises(EvaluationError, match="No submitted"):
        aggregate_application("a9", sheets, RUBRIC, mean)


# -- ranking and selection -------------------------------------------------------------------


def app(
    app_id: str, score: float, tech: float = 0.0, plan: float = 0.0, minute: int | None = None
) -> ApplicationScore:
    at = None if minute is None else T0.replace(minute=minute)
    return ApplicationScore(
        app_id, score, {}, {"need": 0.0, "tech": tech, "plan": plan, "bonus": 0.0}, (), (), at
    )


def test_ranking_tie_breaks_follow_the_documented_order() -> None:
    scores = [
        app("A", 80.0, tech=30, plan=20, minute=5),
        app("B", 85.0),
        app("C", 80.0, tech=32, plan=10, minute=9),  # wins on the heaviest criterion
        app("D", 80.0, tech=30, plan=20, minute=1),  # same as A but submitted earlier
        app("E", 80.0, tech=30, plan=20, minute=5),  # identical to A: shares its rank
        app("F", 79.999),  # rounds to 80.00 but has lower criteria
    ]
    ranked = rank(scores, RUBRIC)
    assert [(r.rank, r.application_id) for r in ranked] == [
        (1, "B"),
        (2, "C"),
        (3, "D"),
        (4, "A"),
        (4, "E"),
        (6, "F"),
    ]
    by_id = {r.application_id: r for r in ranked}
    assert by_id["B"].decided_by == "score"
    assert by_id["C"].decided_by == "criterion:tech"
    assert by_id["D"].decided_by == "submitted"
    assert by_id["A"].tied and by_id["E"].tied and by_id["A"].decided_by == "tie"
    assert not by_id["D"].tied
    with pytest.raises(EvaluationError, match="Duplicate"):
        rank([app("A", 1), app("A", 2)])


def test_selection_with_reserve_minimum_and_tie_at_cutoff() -> None:
    scores = [app("A", 90), app("B", 85), app("C", 80), app("D", 80), app("E", 70), app("F", 55)]
    ranked = rank(scores, RUBRIC)
    sel = select(ranked, 2, reserves=3, min_score=60)
    assert [r.application_id for r in sel.selected] == ["A", "B"]
    assert [r.application_id for r in sel.reserve] == ["C", "D", "E"]
    assert [r.application_id for r in sel.below_minimum] == ["F"]
    assert sel.needs_decision == () and sel.not_selected == ()
    # A tie that straddles the cut-off goes to the operator instead of being picked silently.
    sel = select(ranked, 3, reserves=1, min_score=60)
    assert [r.application_id for r in sel.selected] == ["A", "B"]
    assert [r.application_id for r in sel.needs_decision] == ["C", "D"]
    assert sel.reserve == () and [r.application_id for r in sel.not_selected] == ["E"]
    # Tie across the reserve cut-off.
    sel = select(ranked, 2, reserves=1)
    assert [r.application_id for r in sel.needs_decision] == ["C", "D"]
    sel = select(ranked, 10)
    assert len(sel.selected) == 6
    with pytest.raises(EvaluationError):
        select(ranked, -1)
