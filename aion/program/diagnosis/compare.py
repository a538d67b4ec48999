"""Re-assessment over time: change against the baseline (the first diagnosis) and the previous one.

>>> from datetime import date
>>> from aion.program.diagnosis.scoring import Assessment, score_assessment
>>> q = load_questionnaire()
>>> ids = q.question_ids()
>>> brn = "220-81-62517"
>>> before = score_assessment(q, Assessment(brn, date(2026, 3, 2), "consultant", dict.fromkeys(ids, 1)))
>>> after = score_assessment(q, Assessment(brn, date(2026, 11, 20), "consultant", dict.fromkeys(ids, 2)))
>>> c = compare_assessments([after, before])
>>> c.baseline.assessment.assessed_on.month, c.points[-1].overall_change
(3, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aion.program.diagnosis.questionnaire import load_questionnaire
from aion.program.diagnosis.scoring import AssessmentResult
from aion.program.errors import QuestionnaireError

__all__ = [
    "AssessorGap",
    "Comparison",
    "ComparisonPoint",
    "DimensionChange",
    "compare_assessments",
    "compare_assessors",
    "load_questionnaire",
]


@dataclass(frozen=True)
class DimensionChange:
    dimension_id: str
    score: float
    change: float  # against the baseline
    change_previous: float  # against the previous assessment


@dataclass(frozen=True)
class ComparisonPoint:
    result: AssessmentResult
    overall_change: float
    overall_change_previous: float
    dimensions: tuple[DimensionChange, ...]


@dataclass(frozen=True)
class Comparison:
    baseline: AssessmentResult
    points: tuple[ComparisonPoint, ...]  # every assessment in date order, baseline first

    @property
    def latest(self) -> ComparisonPoint:
        return self.points[-1]


def compare_assessments(results: Sequence[AssessmentResult], *, assessor: str | None = None) -> Comparison:
    """Order a company's assessments by date; the first is the baseline.

    ``assessor`` ('self' or 'consultant') keeps only that kind, so a self-assessment is
    not compared with a consultant's. Assessments on the same day keep the given order.
    """
    chosen = [r for r in results if assessor is None or r.assessment.assessor == assessor]
    if not chosen:
        raise QuestionnaireError("비교할 진단이 없습니다 / No assessments to compare")
    companies = {r.assessment.company_brn for r in chosen}
    if len(companies) > 1:
        raise QuestionnaireError(
            f"한 기업의 진단만 비교할 수 있습니다: {', '.join(sorted(companies))} / "
            f"Only one company's assessments can be compared: {', '.join(sorted(companies))}"
        )
    ordered = sorted(chosen, key=lambda r: r.assessment.assessed_on)
    base = ordered[0]
    dim_ids = [d.dimension_id for d in base.dimensions]
    for r in ordered[1:]:
        if [d.dimension_id for d in r.dimensions] != dim_ids:
            raise QuestionnaireError(
                "영역 구성이 다른 설문끼리는 비교할 수 없습니다 / "
                "Assessments made with different dimensions cannot be compared"
            )
    points: list[ComparisonPoint] = []
    prev = base
    for r in ordered:
        dims = tuple(
            DimensionChange(
                d.dimension_id,
                d.score,
                round(d.score - base.dimension(d.dimension_id).score, 2),
                round(d.score - prev.dimension(d.dimension_id).score, 2),
            )
            for d in r.dimensions
        )
        points.append(
            ComparisonPoint(r, round(r.overall - base.overall, 2), round(r.overall - prev.overall, 2), dims)
        )
        prev = r
    return Comparison(base, tuple(points))


@dataclass(frozen=True)
class AssessorGap:
    dimension_id: str
    self_score: float
    consultant_score: float

    @property
    def difference(self) -> float:
        """Self minus consultant: positive when the company rates itself higher."""
        return round(self.self_score - self.consultant_score, 2)

    @property
    def overestimated(self) -> bool:
        """The self-assessment is a full level or more above the consultant's."""
        return self.difference >= 1.0


def compare_assessors(
    self_result: AssessmentResult, consultant_result: AssessmentResult
) -> list[AssessorGap]:
    """Per-dimension difference between a self-assessment and a consultant's assessment."""
    if self_result.assessment.assessor != "self" or consultant_result.assessment.assessor != "consultant":
        raise QuestionnaireError(
            "자가진단과 컨설턴트 진단을 순서대로 주십시오 / "
            "Give a self-assessment, then a consultant's assessment"
        )
    return [
        AssessorGap(d.dimension_id, d.score, consultant_result.dimension(d.dimension_id).score)
        for d in self_result.dimensions
    ]
