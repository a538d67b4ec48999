"""Weighted rubrics and score sheets with required comments, locked on submission.

A criterion is scored from 0 to its ``max_score``; its ``weight`` is the points it
contributes. The total is scaled to 0-100: ``100 * sum(w * s / max) / sum(w)``.

>>> r = Rubric((Criterion("tech", Text("기술성", "Technology"), 60, 5),
...             Criterion("biz", Text("사업성", "Business"), 40, 5)))
>>> s = ScoreSheet("ev1", "app1")
>>> s = s.with_entry(r, "tech", 4, "공정 데이터가 충분함").with_entry(r, "biz", 5, "도입 의지가 분명함")
>>> r.total(r.submit(s, datetime(2026, 4, 1, tzinfo=timezone.utc)))
88.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from aion.program.errors import EvaluationError
from aion.program.text import Text

__all__ = ["Criterion", "Entry", "Problem", "Rubric", "ScoreSheet", "Text", "datetime", "timezone"]


@dataclass(frozen=True)
class Criterion:
    id: str
    name: Text
    weight: float  # points this criterion contributes (e.g. 30 of 100)
    max_score: float = 5.0  # the scale the evaluator scores on: 0..max_score
    comment_required: bool = True


@dataclass(frozen=True)
class Entry:
    score: float
    comment: str = ""


@dataclass(frozen=True)
class Problem:
    criterion_id: str
    message: Text


@dataclass(frozen=True)
class ScoreSheet:
    """One evaluator's scores for one application. Immutable: edits return a new sheet."""

    evaluator_id: str
    application_id: str
    entries: Mapping[str, Entry] = field(default_factory=dict)
    submitted_at: datetime | None = None

    @property
    def locked(self) -> bool:
        return self.submitted_at is not None

    def with_entry(self, rubric: Rubric, criterion_id: str, score: float, comment: str = "") -> ScoreSheet:
        """Set one criterion's score and comment ("save and finish later" keeps a partial sheet)."""
        if self.locked:
            raise EvaluationError(
                f"제출된 평가표는 수정할 수 없습니다: {self.evaluator_id}/{self.application_id} / "
                f"A submitted score sheet is locked: {self.evaluator_id}/{self.application_id}"
            )
        c = rubric.criterion(criterion_id)
        if isinstance(score, bool) or not 0 <= score <= c.max_score:
            raise EvaluationError(
                f"점수는 0~{c.max_score:g} 사이여야 합니다: {criterion_id}={score!r} / "
                f"Score must be between 0 and {c.max_score:g}: {criterion_id}={score!r}"
            )
        return replace(self, entries={**self.entries, criterion_id: Entry(float(score), comment.strip())})


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]
    min_comment_chars: int = 5

    def __post_init__(self) -> None:
        ids = [c.id for c in self.criteria]
        if not ids:
            raise EvaluationError("평가 항목이 없습니다 / A rubric needs at least one criterion")
        if len(set(ids)) != len(ids):
            raise EvaluationError(f"평가 항목 ID 중복: {ids} / Duplicate criterion ids: {ids}")
        for c in self.criteria:
            if c.weight <= 0 or c.max_score <= 0:
                raise EvaluationError(
                    f"배점과 척도는 양수여야 합니다: {c.id} (weight={c.weight}, max={c.max_score}) / "
                    f"Weight and scale must be positive: {c.id} (weight={c.weight}, max={c.max_score})"
                )

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        valid = ", ".join(c.id for c in self.criteria)
        raise EvaluationError(
            f"없는 평가 항목: {criterion_id!r} (가능: {valid}) / "
            f"Unknown criterion: {criterion_id!r} (valid: {valid})"
        )

    @property
    def total_weight(self) -> float:
        return sum(c.weight for c in self.criteria)

    def problems(self, sheet: ScoreSheet) -> list[Problem]:
        """What stops ``sheet`` from being submitted: missing scores and missing comments."""
        out: list[Problem] = []
        for c in self.criteria:
            e = sheet.entries.get(c.id)
            if e is None:
                out.append(Problem(c.id, Text(f"{c.name.ko}: 점수 없음", f"{c.name.en}: no score")))
            elif c.comment_required and len(e.comment) < self.min_comment_chars:
                out.append(
                    Problem(
                        c.id,
                        Text(
                            f"{c.name.ko}: 평가 의견 필요 ({self.min_comment_chars}자 이상)",
                            f"{c.name.en}: a comment is required ({self.min_comment_chars}+ characters)",
                        ),
                    )
                )
        unknown = sorted(set(sheet.entries) - {c.id for c in self.criteria})
        out.extend(Problem(u, Text(f"없는 평가 항목: {u}", f"Unknown criterion: {u}")) for u in unknown)
        return out

    def submit(self, sheet: ScoreSheet, at: datetime) -> ScoreSheet:
        """Validate and lock ``sheet``; raises :class:`EvaluationError` listing every problem."""
        if sheet.locked:
            raise EvaluationError(
                f"이미 제출된 평가표입니다: {sheet.evaluator_id}/{sheet.application_id} / "
                f"Already submitted: {sheet.evaluator_id}/{sheet.application_id}"
            )
        problems = self.problems(sheet)
        if problems:
            raise EvaluationError(
                "제출할 수 없습니다: "
                + "; ".join(p.message.ko for p in problems)
                + " / Cannot submit: "
                + "; ".join(p.message.en for p in problems)
            )
        return replace(sheet, submitted_at=at)

    def points(self, sheet: ScoreSheet) -> dict[str, float]:
        """Weighted points per criterion, scaled so that all criteria together give 0-100."""
        missing = [c.id for c in self.criteria if c.id not in sheet.entries]
        if missing:
            raise EvaluationError(
                f"점수가 없는 항목: {', '.join(missing)} / Criteria without a score: {', '.join(missing)}"
            )
        scale = 100.0 / self.total_weight
        return {c.id: c.weight * sheet.entries[c.id].score / c.max_score * scale for c in self.criteria}

    def total(self, sheet: ScoreSheet) -> float:
        """The sheet's total on 0-100, rounded to 2 decimals."""
        return round(sum(self.points(sheet).values()), 2)

    def tie_break_order(self) -> list[str]:
        """Criterion ids by weight, highest first; equal weights keep rubric order."""
        return [c.id for c in sorted(self.criteria, key=lambda c: -c.weight)]
