"""Score an assessment: per-dimension scores (0-4), level bands and gaps to the target level.

A dimension score is the weighted mean of its answers (levels 0-4); the overall score is
the weighted mean of the dimension scores. Percent is score / 4 * 100.

>>> from datetime import date
>>> q = load_questionnaire()
>>> answers = {qid: 2 for qid in q.question_ids()}
>>> r = score_assessment(q, Assessment("220-81-62517", date(2026, 3, 2), "consultant", answers))
>>> r.overall, r.band.name.ko, r.dimension("data").gap
(2.0, '시범', 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from aion.program.diagnosis.questionnaire import (
    MAX_LEVEL,
    Band,
    Questionnaire,
    load_questionnaire,
)
from aion.program.errors import QuestionnaireError
from aion.program.text import Text

__all__ = [
    "ASSESSORS",
    "Assessment",
    "AssessmentResult",
    "DimensionScore",
    "load_questionnaire",
    "score_assessment",
]

ASSESSORS = ("self", "consultant")


@dataclass(frozen=True)
class Assessment:
    """One filled-in questionnaire: a company's self-assessment or a consultant's assessment."""

    company_brn: str
    assessed_on: date
    assessor: str  # one of ASSESSORS
    answers: Mapping[str, int]  # question id -> level 0..4
    focus: frozenset[str] = frozenset()  # chosen focus option ids
    assessor_name: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.assessor not in ASSESSORS:
            raise QuestionnaireError(
                f"진단 주체가 올바르지 않습니다: {self.assessor!r} (가능: {', '.join(ASSESSORS)}) / "
                f"Invalid assessor: {self.assessor!r} (valid: {', '.join(ASSESSORS)})"
            )
        for qid, level in self.answers.items():
            if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= MAX_LEVEL:
                raise QuestionnaireError(
                    f"응답 수준은 0~{MAX_LEVEL} 정수여야 합니다: {qid}={level!r} / "
                    f"An answer must be an integer level 0-{MAX_LEVEL}: {qid}={level!r}"
                )


@dataclass(frozen=True)
class DimensionScore:
    dimension_id: str
    name: Text
    score: float  # 0..4, weighted mean of the answers
    band: Band
    target: int
    answered: int
    total: int

    @property
    def level(self) -> int:
        return self.band.level

    @property
    def percent(self) -> float:
        return round(self.score / MAX_LEVEL * 100, 1)

    @property
    def gap(self) -> float:
        """How far the score is below the target level (0 when at or above it)."""
        return round(max(0.0, self.target - self.score), 2)


@dataclass(frozen=True)
class AssessmentResult:
    assessment: Assessment
    dimensions: tuple[DimensionScore, ...]
    overall: float
    band: Band
    _by_id: dict[str, DimensionScore] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({d.dimension_id: d for d in self.dimensions})

    def dimension(self, dimension_id: str) -> DimensionScore:
        try:
            return self._by_id[dimension_id]
        except KeyError as e:
            raise QuestionnaireError(
                f"없는 영역입니다: {dimension_id!r} / Unknown dimension: {dimension_id!r}"
            ) from e

    @property
    def complete(self) -> bool:
        return all(d.answered == d.total for d in self.dimensions)


def score_assessment(
    questionnaire: Questionnaire,
    assessment: Assessment,
    *,
    require_complete: bool = True,
    targets: Mapping[str, int] | None = None,
) -> AssessmentResult:
    """Score ``assessment`` against ``questionnaire``.

    Unknown question ids are an error. Missing answers are an error unless
    ``require_complete`` is false, in which case a dimension is scored from the answered
    questions (and scores 0 when none is answered). ``targets`` overrides the
    questionnaire's target level per dimension.
    """
    valid = set(questionnaire.question_ids())
    unknown = sorted(set(assessment.answers) - valid)
    if unknown:
        raise QuestionnaireError(
            f"설문에 없는 문항 응답: {', '.join(unknown)} / "
            f"Answers to unknown questions: {', '.join(unknown)}"
        )
    missing = [qid for qid in questionnaire.question_ids() if qid not in assessment.answers]
    if missing and require_complete:
        raise QuestionnaireError(
            f"응답하지 않은 문항: {', '.join(missing)} / Unanswered questions: {', '.join(missing)}"
        )
    for opt in assessment.focus:
        questionnaire.focus_option(opt)  # raises on unknown options
    targets = dict(targets or {})
    dims: list[DimensionScore] = []
    for d in questionnaire.dimensions:
        answered = [(q.weight, assessment.answers[q.id]) for q in d.questions if q.id in assessment.answers]
        wsum = sum(w for w, _ in answered)
        score = round(sum(w * v for w, v in answered) / wsum, 2) if wsum else 0.0
        dims.append(
            DimensionScore(
                dimension_id=d.id,
                name=d.name,
                score=score,
                band=questionnaire.band_for(score),
                target=int(targets.get(d.id, questionnaire.target_level)),
                answered=len(answered),
                total=len(d.questions),
            )
        )
    total_w = sum(d.weight for d in questionnaire.dimensions)
    overall = round(
        sum(d.weight * s.score for d, s in zip(questionnaire.dimensions, dims, strict=True)) / total_w, 2
    )
    return AssessmentResult(
        assessment=assessment, dimensions=tuple(dims), overall=overall, band=questionnaire.band_for(overall)
    )
