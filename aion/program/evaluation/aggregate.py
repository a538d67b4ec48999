"""Panel aggregation (mean, median, trimmed) and the outlier flag.

Every aggregator implements one verb, ``aggregate(values) -> float``.

>>> [get_aggregator(n).aggregate([70, 80, 90, 100]) for n in AGGREGATORS]
[85.0, 85.0, 85.0]
>>> get_aggregator("trimmed").aggregate([50, 80, 82, 99])
81.0
"""

from __future__ import annotations

import statistics
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aion.program.errors import EvaluationError
from aion.program.evaluation.rubric import Rubric, ScoreSheet

__all__ = [
    "AGGREGATORS",
    "Aggregator",
    "ApplicationScore",
    "DeviationFlag",
    "Mean",
    "Median",
    "TrimmedMean",
    "aggregate_application",
    "deviation_flags",
    "get_aggregator",
]


class Aggregator(ABC):
    """Turns a panel's scores into one score."""

    name: str = ""

    @abstractmethod
    def _aggregate(self, values: Sequence[float]) -> float: ...

    def aggregate(self, values: Sequence[float]) -> float:
        if not values:
            raise EvaluationError(
                f"집계할 점수가 없습니다 ({self.name}) / No scores to aggregate ({self.name})"
            )
        return round(self._aggregate([float(v) for v in values]), 2)


class Mean(Aggregator):
    name = "mean"

    def _aggregate(self, values: Sequence[float]) -> float:
        return statistics.fmean(values)


class Median(Aggregator):
    name = "median"

    def _aggregate(self, values: Sequence[float]) -> float:
        return float(statistics.median(values))


class TrimmedMean(Aggregator):
    """Drops the single highest and single lowest score, then takes the mean.

    With fewer than three scores nothing can be dropped and the plain mean is used.
    """

    name = "trimmed"

    def _aggregate(self, values: Sequence[float]) -> float:
        if len(values) < 3:
            return statistics.fmean(values)
        return statistics.fmean(sorted(values)[1:-1])


AGGREGATORS: dict[str, type[Aggregator]] = {"mean": Mean, "median": Median, "trimmed": TrimmedMean}


def get_aggregator(name: str) -> Aggregator:
    try:
        return AGGREGATORS[name]()
    except KeyError as e:
        valid = ", ".join(AGGREGATORS)
        raise EvaluationError(
            f"없는 집계 방식: {name!r} (가능: {valid}) / Unknown aggregation: {name!r} (valid: {valid})"
        ) from e


@dataclass(frozen=True)
class DeviationFlag:
    """An evaluator whose total is more than the threshold away from the panel mean."""

    evaluator_id: str
    score: float
    panel_mean: float

    @property
    def deviation(self) -> float:
        """Relative distance from the panel mean (0.12 = 12 %)."""
        return abs(self.score - self.panel_mean) / self.panel_mean if self.panel_mean else float("inf")


def deviation_flags(totals: Mapping[str, float], threshold: float = 0.10) -> list[DeviationFlag]:
    """Flag evaluators more than ``threshold`` (relative, 0.10 = 10 %) from the panel mean.

    The panel mean includes every evaluator, the flagged one too. A panel of one is never
    flagged. With a panel mean of 0, any non-zero score is flagged.
    """
    if len(totals) < 2:
        return []
    mean = statistics.fmean(totals.values())
    flags = []
    for ev, s in totals.items():
        if abs(s - mean) > threshold * abs(mean) + 1e-9:
            flags.append(DeviationFlag(ev, s, round(mean, 2)))
    return flags


@dataclass(frozen=True)
class ApplicationScore:
    application_id: str
    score: float  # aggregated total, 0-100
    totals: Mapping[str, float]  # evaluator id -> that evaluator's total
    criteria: Mapping[str, float]  # criterion id -> aggregated weighted points (for tie-breaks)
    flags: tuple[DeviationFlag, ...]
    excluded: tuple[str, ...] = ()  # evaluators left out by moderation
    submitted_at: datetime | None = None  # when the application was submitted (tie-break)


def aggregate_application(
    application_id: str,
    sheets: Sequence[ScoreSheet],
    rubric: Rubric,
    aggregator: Aggregator,
    *,
    excluded: Collection[str] = (),
    threshold: float = 0.10,
    submitted_at: datetime | None = None,
) -> ApplicationScore:
    """Aggregate the submitted sheets of one application.

    Only locked (submitted) sheets count; ``excluded`` evaluators (a moderation decision)
    are left out of the score and the flags. The same aggregator is applied per criterion
    so that tie-breaks compare like with like.
    """
    used = [
        s
        for s in sheets
        if s.application_id == application_id and s.locked and s.evaluator_id not in excluded
    ]
    if not used:
        raise EvaluationError(
            f"제출된 평가표가 없습니다: {application_id} / No submitted score sheets for {application_id}"
        )
    evaluators = [s.evaluator_id for s in used]
    if len(set(evaluators)) != len(evaluators):
        raise EvaluationError(
            f"같은 평가위원의 평가표가 둘 이상입니다: {application_id} / "
            f"More than one sheet from the same evaluator for {application_id}"
        )
    totals = {s.evaluator_id: rubric.total(s) for s in used}
    points = [rubric.points(s) for s in used]
    criteria = {c.id: aggregator.aggregate([p[c.id] for p in points]) for c in rubric.criteria}
    return ApplicationScore(
        application_id=application_id,
        score=aggregator.aggregate(list(totals.values())),
        totals=totals,
        criteria=criteria,
        flags=tuple(deviation_flags(totals, threshold)),
        excluded=tuple(sorted(set(excluded) & {s.evaluator_id for s in sheets})),
        submitted_at=submitted_at,
    )
