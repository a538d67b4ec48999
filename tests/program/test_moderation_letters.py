"""Moderation of flagged scores and decision letters."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pypdf
import pytest

from aion.program.errors import EvaluationError
from aion.program.evaluation.aggregate import aggregate_application, get_aggregator
from aion.program.evaluation.letters import LetterInfo, decision_of, letter_text, render_decision_letter
from aion.program.evaluation.moderation import Moderation, excluded_evaluators, reopen_for_rescoring
from aion.program.evaluation.ranking import rank, select
from aion.program.evaluation.rubric import Criterion, Rubric, ScoreSheet
from aion.program.text import Text

T0 = datetime(2026, 4, 1, tzinfo=UTC)
RUBRIC = Rubric((Criterion("q", Text("품질", "Quality"), 100, 10),))


def submitted(ev: str, app: str, score: float) -> ScoreSheet:
    return RUBRIC.submit(ScoreSheet(ev, app).with_entry(RUBRIC, "q", score, "평가 의견입니다"), T0)


def test_moderation_excludes_and_reopens() -> None:
    sheets = [submitted("e1", "a1", 8), submitted("e2", "a1", 8.2), submitted("e3", "a1", 6.5)]
    agg = get_aggregator("mean")
    assert [f.evaluator_id for f in aggregate_application("a1", sheets, RUBRIC, agg).flags] == ["e3"]
    ms = [
        Moderation("a1", "e3", "exclude", "기준을 잘못 적용함", "op", T0),
        Moderation("a2", "e1", "exclude", "다른 지원서에 대한 결정", "op", T0),
    ]
    excluded = excluded_evaluators(ms, "a1")
    assert excluded == {"e3"}
    res = aggregate_application("a1", sheets, RUBRIC, agg, excluded=excluded)
    assert res.score == 81.0 and res.flags == ()
    # A later decision replaces an earlier one: e3 may rescore instead.
    ms.append(Moderation("a1", "e3", "rescore", "근거 보완 후 재평가", "op", T0 + timedelta(hours=1)))
    assert excluded_evaluators(ms, "a1") == set()
    reopened = reopen_for_rescoring(sheets[2], ms)
    assert not reopened.locked
    again = RUBRIC.submit(
        reopened.with_entry(RUBRIC, "q", 7.5, "근거를 보완했습니다"), T0 + timedelta(hours=2)
    )
    assert RUBRIC.total(again) == 75.0
    with pytest.raises(EvaluationError, match="rescore"):
        reopen_for_rescoring(sheets[0], ms)
    with pytest.raises(EvaluationError, match="reason"):
        Moderation("a1", "e1", "keep", "", "op", T0)
    with pytest.raises(EvaluationError, match="delete"):
        Moderation("a1", "e1", "delete", "그냥 지움니다", "op", T0)


def test_decision_letters_for_each_outcome(tmp_path: Path) -> None:
    sheets = [submitted("e1", a, s) for a, s in [("a1", 9), ("a2", 8), ("a3", 7), ("a4", 4)]]
    agg = get_aggregator("mean")
    scores = [aggregate_application(a, sheets, RUBRIC, agg) for a in ("a1", "a2", "a3", "a4")]
    sel = select(rank(scores, RUBRIC), 1, reserves=1, min_score=60)
    assert [decision_of(sel, a) for a in ("a1", "a2", "a3", "a4")] == [
        "selected", "reserve", "not_selected", "below_minimum",
    ]  # fmt: skip
    with pytest.raises(EvaluationError):
        decision_of(sel, "zz")
    info = LetterInfo(
        "2026 AI 솔루션 도입 지원", "울산테크노파크", "(주)한빛정밀", "2026-SOL-0007", "reserve",
        date(2026, 5, 5), score=80.0, reserve_position=1, contact="052-000-0000",
    )  # fmt: skip
    title, body = letter_text(info)
    assert "예비 선정" in body.ko and "1순위" in body.ko and "Reserve list" in body.en
    assert "80.00" in body.ko and "2026년 05월 05일" in body.ko
    no_score = letter_text(LetterInfo("공고", "기관", "회사", "R-1", "not_selected", date(2026, 5, 5)))[1]
    assert "점수" not in no_score.ko and "다음 공고" in no_score.ko
    data = render_decision_letter(info, tmp_path / "letter.pdf")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert "선정 결과 통지" in text and "(주)한빛정밀" in text and "2026-SOL-0007" in text
    with pytest.raises(EvaluationError, match="maybe"):
        LetterInfo("공고", "기관", "회사", "R-1", "maybe", date(2026, 5, 5))
