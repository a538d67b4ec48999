"""AI-readiness diagnosis: questionnaire, scoring, recommendations, roadmap, comparison."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from aion.program.diagnosis.compare import compare_assessments, compare_assessors
from aion.program.diagnosis.questionnaire import Questionnaire, load_questionnaire
from aion.program.diagnosis.recommend import diagnose, recommend, solution_fit
from aion.program.diagnosis.scoring import Assessment, score_assessment
from aion.program.errors import QuestionnaireError

BRN = "220-81-62517"


@pytest.fixture(scope="module")
def q() -> Questionnaire:
    return load_questionnaire()


def answers(q: Questionnaire, default: int, **by_dimension: int) -> dict[str, int]:
    out = {}
    for d in q.dimensions:
        for qu in d.questions:
            out[qu.id] = by_dimension.get(d.id, default)
    return out


def test_seed_has_the_six_dimensions_in_korean_and_english(q: Questionnaire) -> None:
    assert [d.id for d in q.dimensions] == [
        "strategy",
        "data",
        "infrastructure",
        "people",
        "process",
        "governance",
    ]
    for d in q.dimensions:
        assert d.name.ko != d.name.en
        assert len(d.questions) >= 3
        for qu in d.questions:
            assert len(qu.levels) == 5
            assert any("\uac00" <= c <= "\ud7a3" for c in qu.text.ko)
    assert {s.id for s in q.solutions} == {"inspection", "process", "safety"}


def test_round_trip_through_plain_data(q: Questionnaire) -> None:
    again = Questionnaire.from_dict(q.to_dict())
    assert again == q
    assert again.question_ids() == q.question_ids()


def test_an_operator_edit_is_validated(q: Questionnaire) -> None:
    data = q.to_dict()
    broken = copy.deepcopy(data)
    broken["dimensions"][0]["questions"][0]["levels"].pop()
    with pytest.raises(QuestionnaireError, match="level anchors"):
        Questionnaire.from_dict(broken)
    broken = copy.deepcopy(data)
    broken["rules"][0]["dimension"] = "marketing"
    with pytest.raises(QuestionnaireError, match="marketing"):
        Questionnaire.from_dict(broken)
    broken = copy.deepcopy(data)
    broken["focus"][0]["options"][0]["solution"] = "robots"
    with pytest.raises(QuestionnaireError, match="robots"):
        Questionnaire.from_dict(broken)
    # A valid edit: a new question with five anchors is accepted and scored.
    edited = copy.deepcopy(data)
    edited["dimensions"][1]["questions"].append(
        {
            "id": "data.retention",
            "ko": "보존 기간?",
            "en": "Retention?",
            "levels": [{"ko": str(i)} for i in range(5)],
        }
    )
    q2 = Questionnaire.from_dict(edited)
    a = answers(q2, 1) | {"data.retention": 4}
    r = score_assessment(q2, Assessment(BRN, date(2026, 1, 5), "self", a))
    assert r.dimension("data").score == pytest.approx((1 + 1 + 1 + 4) / 4, abs=0.01)


def test_weighted_scores_bands_and_gaps(q: Questionnaire) -> None:
    a = answers(q, 2, data=0, governance=4)
    a["strategy.vision"] = 4  # strategy: (4 + 2 + 2) / 3
    r = score_assessment(q, Assessment(BRN, date(2026, 3, 2), "consultant", a))
    assert r.dimension("strategy").score == pytest.approx(2.67, abs=0.01)
    assert r.dimension("strategy").level == 3  # band min 2.4
    assert r.dimension("data").level == 0
    assert r.dimension("data").gap == 3.0
    assert r.dimension("governance").gap == 0.0
    assert r.dimension("governance").percent == 100.0
    expected = round((2.67 + 0 + 2 + 2 + 2 + 4) / 6, 2)
    assert r.overall == pytest.approx(expected, abs=0.01)


def test_dimension_weights_change_the_overall_score(q: Questionnaire) -> None:
    data = q.to_dict()
    data["dimensions"][1]["weight"] = 3.0  # data counts three times
    q2 = Questionnaire.from_dict(data)
    a = answers(q2, 2, data=4)
    r = score_assessment(q2, Assessment(BRN, date(2026, 3, 2), "self", a))
    assert r.overall == pytest.approx((5 * 2 + 3 * 4) / 8, abs=0.01)


def test_bad_answers_are_rejected(q: Questionnaire) -> None:
    with pytest.raises(QuestionnaireError, match="0-4"):
        Assessment(BRN, date(2026, 3, 2), "self", {"strategy.vision": 5})
    with pytest.raises(QuestionnaireError, match="auditor"):
        Assessment(BRN, date(2026, 3, 2), "auditor", {})
    with pytest.raises(QuestionnaireError, match="Unanswered"):
        score_assessment(q, Assessment(BRN, date(2026, 3, 2), "self", {"strategy.vision": 1}))
    with pytest.raises(QuestionnaireError, match="nope"):
        score_assessment(q, Assessment(BRN, date(2026, 3, 2), "self", answers(q, 1) | {"nope": 1}))
    partial = score_assessment(
        q, Assessment(BRN, date(2026, 3, 2), "self", {"strategy.vision": 3}), require_complete=False
    )
    assert not partial.complete
    assert partial.dimension("strategy").score == 3.0
    assert partial.dimension("data").answered == 0


def test_gap_rules_fire_by_level_and_by_question(q: Questionnaire) -> None:
    low = score_assessment(q, Assessment(BRN, date(2026, 3, 2), "self", answers(q, 0)))
    ids = {r.rule_id for r in recommend(q, low)}
    assert {"strategy-goals", "data-digitise", "infra-connect", "people-champion"} <= ids
    assert "process-monitoring" not in ids  # only for level 2
    recs = recommend(q, low)
    assert [r.priority for r in recs] == sorted(r.priority for r in recs)
    high = score_assessment(q, Assessment(BRN, date(2026, 3, 2), "self", answers(q, 4)))
    assert recommend(q, high) == []
    mid = score_assessment(q, Assessment(BRN, date(2026, 3, 2), "self", answers(q, 2)))
    mid_ids = {r.rule_id for r in recommend(q, mid)}
    assert "process-monitoring" in mid_ids and "data-digitise" not in mid_ids


def test_solution_fit_follows_the_focus_and_checks_prerequisites(q: Questionnaire) -> None:
    a = Assessment(
        BRN,
        date(2026, 3, 2),
        "consultant",
        answers(q, 1, infrastructure=0),
        focus=frozenset({"downtime", "sensor_series", "defects"}),
    )
    r = score_assessment(q, a)
    fits = solution_fit(q, r)
    assert fits[0].solution_id == "process" and fits[0].fit == 5
    assert fits[1].solution_id == "inspection" and fits[1].fit == 3
    assert not fits[0].ready
    assert set(fits[0].missing) == {"infrastructure", "data"}
    d = diagnose(q, a)
    phase1 = [i for i in d.roadmap[0].items]
    assert any(i.kind == "prerequisite" and i.source == "process" for i in phase1)
    assert any(i.kind == "data" and "PLC" in i.text.ko for i in phase1)
    assert any(i.kind == "pilot" for i in d.roadmap[1].items)
    assert any(i.kind == "scale" for i in d.roadmap[-1].items)
    # Every recommendation appears exactly once, in its phase.
    rec_items = [(p.phase.id, i.source) for p in d.roadmap for i in p.items if i.kind == "recommendation"]
    assert sorted(rec_items) == sorted((r.phase, r.rule_id) for r in d.recommendations)


def test_no_focus_means_no_solution_recommended(q: Questionnaire) -> None:
    d = diagnose(q, Assessment(BRN, date(2026, 3, 2), "self", answers(q, 2)))
    assert d.best_fit is None
    assert not any(i.kind in {"pilot", "data"} for p in d.roadmap for i in p.items)
    with pytest.raises(QuestionnaireError, match="unicorns"):
        diagnose(q, Assessment(BRN, date(2026, 3, 2), "self", answers(q, 2), focus=frozenset({"unicorns"})))


def test_comparison_uses_the_first_assessment_as_baseline(q: Questionnaire) -> None:
    r1 = score_assessment(q, Assessment(BRN, date(2026, 3, 1), "consultant", answers(q, 1)))
    r2 = score_assessment(q, Assessment(BRN, date(2026, 7, 1), "consultant", answers(q, 2, data=1)))
    r3 = score_assessment(q, Assessment(BRN, date(2026, 11, 1), "consultant", answers(q, 3)))
    s = score_assessment(q, Assessment(BRN, date(2026, 2, 1), "self", answers(q, 4)))
    c = compare_assessments([r3, s, r1, r2], assessor="consultant")
    assert c.baseline is r1
    assert [p.result for p in c.points] == [r1, r2, r3]
    assert c.points[0].overall_change == 0.0
    data_change = {p.result.assessment.assessed_on.month: p for p in c.points}
    mid = {dc.dimension_id: dc for dc in data_change[7].dimensions}
    assert mid["data"].change == 0.0 and mid["strategy"].change == 1.0
    last = {dc.dimension_id: dc for dc in c.latest.dimensions}
    assert last["data"].change == 2.0 and last["data"].change_previous == 2.0
    assert last["strategy"].change_previous == 1.0
    # Without the filter the earlier self-assessment becomes the baseline.
    assert compare_assessments([r1, s]).baseline is s
    other = score_assessment(q, Assessment("124-81-00998", date(2026, 3, 1), "consultant", answers(q, 1)))
    with pytest.raises(QuestionnaireError, match="one company"):
        compare_assessments([r1, other])


def test_self_versus_consultant(q: Questionnaire) -> None:
    s = score_assessment(q, Assessment(BRN, date(2026, 3, 1), "self", answers(q, 3, data=1)))
    c = score_assessment(q, Assessment(BRN, date(2026, 3, 2), "consultant", answers(q, 1)))
    gaps = {g.dimension_id: g for g in compare_assessors(s, c)}
    assert gaps["strategy"].difference == 2.0 and gaps["strategy"].overestimated
    assert gaps["data"].difference == 0.0 and not gaps["data"].overestimated
    with pytest.raises(QuestionnaireError):
        compare_assessors(c, s)
