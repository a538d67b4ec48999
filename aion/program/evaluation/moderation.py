"""Moderation records for flagged scores: keep, exclude from the aggregate, or reopen for rescoring.

>>> from datetime import datetime, timezone
>>> at = datetime(2026, 4, 3, tzinfo=timezone.utc)
>>> ms = [Moderation("a1", "e3", "exclude", "평가 기준을 잘못 적용함", "op", at)]
>>> sorted(excluded_evaluators(ms, "a1"))
['e3']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from aion.program.errors import EvaluationError
from aion.program.evaluation.rubric import ScoreSheet

__all__ = ["ACTIONS", "Moderation", "excluded_evaluators", "reopen_for_rescoring"]

ACTIONS = ("keep", "exclude", "rescore")


@dataclass(frozen=True)
class Moderation:
    """An operator's decision on one evaluator's score for one application (reason mandatory)."""

    application_id: str
    evaluator_id: str
    action: str  # one of ACTIONS
    reason: str
    by: str
    at: datetime

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise EvaluationError(
                f"조정 조치가 올바르지 않습니다: {self.action!r} (가능: {', '.join(ACTIONS)}) / "
                f"Invalid moderation action: {self.action!r} (valid: {', '.join(ACTIONS)})"
            )
        if len(self.reason.strip()) < 5:
            raise EvaluationError(
                f"조정 사유를 5자 이상 입력하십시오: {self.reason!r} / "
                f"A moderation needs a reason of at least 5 characters: {self.reason!r}"
            )


def _latest(moderations: Iterable[Moderation], application_id: str) -> dict[str, Moderation]:
    latest: dict[str, Moderation] = {}
    for m in sorted((m for m in moderations if m.application_id == application_id), key=lambda m: m.at):
        latest[m.evaluator_id] = m
    return latest


def excluded_evaluators(moderations: Iterable[Moderation], application_id: str) -> set[str]:
    """Evaluators whose latest decision for this application is 'exclude' (pass to the aggregation)."""
    return {ev for ev, m in _latest(moderations, application_id).items() if m.action == "exclude"}


def reopen_for_rescoring(sheet: ScoreSheet, moderations: Iterable[Moderation]) -> ScoreSheet:
    """Unlock a submitted sheet when the latest moderation for it says 'rescore'."""
    m = _latest(moderations, sheet.application_id).get(sheet.evaluator_id)
    if m is None or m.action != "rescore":
        raise EvaluationError(
            f"재평가 결정 없이 제출된 평가표를 열 수 없습니다: {sheet.evaluator_id}/{sheet.application_id} / "
            f"A submitted sheet reopens only after a 'rescore' moderation: "
            f"{sheet.evaluator_id}/{sheet.application_id}"
        )
    return replace(sheet, submitted_at=None)
