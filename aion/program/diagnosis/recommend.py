"""Gap rules to recommendations, which AI-on solution fits, and a phased roadmap.

>>> from datetime import date
>>> from aion.program.diagnosis.scoring import Assessment, score_assessment
>>> q = load_questionnaire()
>>> a = Assessment("220-81-62517", date(2026, 3, 2), "consultant",
...                {qid: 1 for qid in q.question_ids()}, focus=frozenset({"defects", "product_images"}))
>>> d = diagnose(q, a)
>>> d.best_fit.solution_id if d.best_fit else None
'inspection'
>>> [p.phase.id for p in d.roadmap]
[1, 2, 3]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aion.program.diagnosis.questionnaire import Phase, Questionnaire, load_questionnaire
from aion.program.diagnosis.scoring import Assessment, AssessmentResult, score_assessment
from aion.program.text import Text

__all__ = [
    "Diagnosis",
    "Recommendation",
    "RoadmapItem",
    "RoadmapPhase",
    "SolutionFit",
    "build_roadmap",
    "diagnose",
    "load_questionnaire",
    "recommend",
    "solution_fit",
]


@dataclass(frozen=True)
class Recommendation:
    rule_id: str
    text: Text
    phase: int
    priority: int  # 1 = most urgent
    dimension_id: str
    gap: float  # the dimension's gap to its target


@dataclass(frozen=True)
class SolutionFit:
    solution_id: str
    name: Text
    fit: float  # sum of the weights of the chosen focus options pointing to this solution
    reasons: tuple[Text, ...]  # the chosen options behind the fit
    missing: Mapping[str, tuple[float, int]]  # dimension -> (current score, required level)
    data_first: tuple[Text, ...]

    @property
    def ready(self) -> bool:
        """Whether the prerequisites for a pilot are met now."""
        return not self.missing


@dataclass(frozen=True)
class RoadmapItem:
    text: Text
    kind: str  # "recommendation", "data", "prerequisite", "pilot", "scale"
    source: str  # rule id or solution id


@dataclass(frozen=True)
class RoadmapPhase:
    phase: Phase
    items: tuple[RoadmapItem, ...]


@dataclass(frozen=True)
class Diagnosis:
    result: AssessmentResult
    recommendations: tuple[Recommendation, ...]
    fits: tuple[SolutionFit, ...]
    roadmap: tuple[RoadmapPhase, ...]

    @property
    def best_fit(self) -> SolutionFit | None:
        """The best-fitting solution, or ``None`` when no focus option was chosen."""
        return self.fits[0] if self.fits and self.fits[0].fit > 0 else None


def recommend(questionnaire: Questionnaire, result: AssessmentResult) -> list[Recommendation]:
    """Recommendations of the gap rules that fire, most urgent first.

    Order: priority, then the larger gap, then the questionnaire's dimension order.
    """
    dim_of_question = {q.id: d.id for d in questionnaire.dimensions for q in d.questions}
    order = {d.id: i for i, d in enumerate(questionnaire.dimensions)}
    out: list[Recommendation] = []
    answers = result.assessment.answers
    for rule in questionnaire.rules:
        if rule.question is not None:
            if rule.question not in answers or rule.max_answer is None:
                continue
            if answers[rule.question] > rule.max_answer:
                continue
            dim_id = dim_of_question[rule.question]
        else:
            assert rule.dimension is not None
            dim_id = rule.dimension
            level = result.dimension(dim_id).level
            if not rule.min_level <= level <= rule.max_level:
                continue
        ds = result.dimension(dim_id)
        out.append(Recommendation(rule.id, rule.recommendation, rule.phase, rule.priority, dim_id, ds.gap))
    out.sort(key=lambda r: (r.priority, -r.gap, order[r.dimension_id]))
    return out


def solution_fit(questionnaire: Questionnaire, result: AssessmentResult) -> list[SolutionFit]:
    """Rank the AI-on solutions (inspection, process, safety) for this company.

    The fit of a solution is the summed weight of the chosen focus options (pressing
    problems and available data) that point to it; ties keep the questionnaire's order.
    Prerequisites not met (dimension level below the solution's ``requires``) are listed
    in ``missing`` and become phase-1 roadmap items.
    """
    fits: list[SolutionFit] = []
    for s in questionnaire.solutions:
        chosen = [
            o
            for fq in questionnaire.focus
            for o in fq.options
            if o.solution == s.id and o.id in result.assessment.focus
        ]
        missing = {
            dim: (result.dimension(dim).score, need)
            for dim, need in s.requires.items()
            if result.dimension(dim).level < need
        }
        fits.append(
            SolutionFit(
                solution_id=s.id,
                name=s.name,
                fit=sum(o.weight for o in chosen),
                reasons=tuple(o.text for o in chosen),
                missing=missing,
                data_first=s.data_first,
            )
        )
    fits.sort(key=lambda f: -f.fit)  # stable: ties keep questionnaire order
    return fits


def build_roadmap(
    questionnaire: Questionnaire,
    recommendations: list[Recommendation],
    fits: list[SolutionFit],
) -> list[RoadmapPhase]:
    """Group recommendations by phase and add the best-fitting solution's steps.

    For the best fit (if any): missing prerequisites and the data to collect first go
    to the first phase, the pilot to the second (or the first when the prerequisites are
    already met and the questionnaire has only that phase), scale-up to the last.
    """
    phases = sorted(questionnaire.phases, key=lambda p: p.id)
    first, last = phases[0].id, phases[-1].id
    pilot_phase = phases[1].id if len(phases) > 1 else first
    items: dict[int, list[RoadmapItem]] = {p.id: [] for p in phases}
    best = fits[0] if fits and fits[0].fit > 0 else None
    if best is not None:
        for dim, (score, need) in best.missing.items():
            name = questionnaire.dimension(dim).name
            items[first].append(
                RoadmapItem(
                    Text(
                        f"{best.name.ko} 도입 전 {name.ko} 수준을 {need} 이상으로 (현재 {score:.1f})",
                        f"Raise {name.en} to level {need} before {best.name.en} (now {score:.1f})",
                    ),
                    "prerequisite",
                    best.solution_id,
                )
            )
        for t in best.data_first:
            items[first].append(
                RoadmapItem(Text(f"데이터 수집: {t.ko}", f"Collect data: {t.en}"), "data", best.solution_id)
            )
    for r in recommendations:
        items[r.phase].append(RoadmapItem(r.text, "recommendation", r.rule_id))
    if best is not None:
        items[pilot_phase].append(
            RoadmapItem(
                Text(
                    f"{best.name.ko} 시범 적용 (한 라인, 기준 대비 효과 검증)",
                    f"Pilot {best.name.en} on one line and verify the effect against the baseline",
                ),
                "pilot",
                best.solution_id,
            )
        )
        items[last].append(
            RoadmapItem(
                Text(
                    f"{best.name.ko} 확산 및 성과 지표 정기 점검",
                    f"Scale {best.name.en} to other lines and review its KPIs regularly",
                ),
                "scale",
                best.solution_id,
            )
        )
    return [RoadmapPhase(p, tuple(items[p.id])) for p in phases]


def diagnose(
    questionnaire: Questionnaire,
    assessment: Assessment,
    *,
    targets: Mapping[str, int] | None = None,
) -> Diagnosis:
    """Score an assessment and derive recommendations, solution fit and roadmap."""
    result = score_assessment(questionnaire, assessment, targets=targets)
    recs = recommend(questionnaire, result)
    fits = solution_fit(questionnaire, result)
    roadmap = build_roadmap(questionnaire, recs, fits)
    return Diagnosis(result, tuple(recs), tuple(fits), tuple(roadmap))
