"""Alarm logic against alarm fatigue: smoothing, hysteresis, minimum duration, calibrated limits.

>>> import numpy as np
>>> p = AlarmPolicy(target_far=0.05, smooth=1, hysteresis=0.5, min_duration=3)
>>> p = p.calibrate(np.linspace(0, 1, 101))
>>> s = np.array([0.0, 2.0, 2.0, 2.0, 0.8, 0.0, 2.0, 0.0])
>>> [(a.start, a.end) for a in p.alarms(s)]
[(1, 5)]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from aion.solutions.process.errors import ProcessError

#: share of labelled event rows the limit must let through when events are given
EVENT_REACH = 0.8


@dataclass
class Alarm:
    """One alarm: rows ``start`` (first alarming row) to ``end`` (exclusive), with its explanation."""

    start: int
    end: int
    peak_score: float
    start_time: str | None = None
    end_time: str | None = None
    contributions: list[dict[str, Any]] = field(default_factory=list)
    message_ko: str = ""
    message_en: str = ""

    @property
    def duration(self) -> int:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["duration"] = self.duration
        return d


def smooth_scores(scores: np.ndarray, window: int, centered: bool = False) -> np.ndarray:
    """Rolling mean: trailing (causal, row ``t`` sees only rows up to ``t``, for live scoring) or
    ``centered`` (no delay, for whole files scored after the fact)."""
    s = np.asarray(scores, dtype=np.float64)
    if window <= 1:
        return s.copy()
    return pd.Series(s).rolling(window, min_periods=1, center=centered).mean().to_numpy()


@dataclass
class AlarmPolicy:
    """When a score becomes an alarm.

    ``target_far``: share of normal rows allowed above the limit (sets ``threshold`` by calibration).
    ``smooth``: rows of trailing mean on the score. ``hysteresis``: the alarm clears only below
    ``baseline + hysteresis * (threshold - baseline)``, where ``baseline`` is the median normal score
    (0 unless calibrated): the clearing level stays above the bulk of normal scores, so an alarm ends
    when the process is back to normal. ``min_duration``: the on-delay; shorter excursions are not
    alarms unless they are intense: longer than the smoothing window (so not one bad reading) and
    with an area above the limit, ``sum(score / threshold - 1)``, of at least ``short_area *
    min_duration`` (with 0.5: twice the limit for half the on-delay, like a high-high alarm that
    has a shorter delay than the high alarm).
    ``centered``: smooth with a centred window (whole files scored after the fact: no delay) instead
    of a trailing one (live scoring). ``margin`` widens the calibrated limit: ``median + margin * (quantile - median)`` of the normal
    scores (a safety factor for variation the normal period did not show).
    """

    target_far: float = 0.01
    smooth: int = 5
    hysteresis: float = 0.8
    min_duration: int = 5
    margin: float = 1.0
    centered: bool = False
    short_area: float = 0.5
    threshold: float | None = None
    baseline: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.target_far < 0.5:
            raise ProcessError(f"target_far={self.target_far}: 0과 0.5 사이여야 함 / must be in (0, 0.5)")
        if not 0.0 < self.hysteresis <= 1.0:
            raise ProcessError(f"hysteresis={self.hysteresis}: (0, 1] 범위 / must be in (0, 1]")

    def calibrate(self, normal_scores: np.ndarray, event_scores: np.ndarray | None = None) -> AlarmPolicy:
        """A copy whose threshold lets ``target_far`` of the (smoothed) normal scores through.

        ``event_scores``: the smoothed scores of rows the user labelled as known events (faults).
        They show what a real fault of this plant scores. When the safety ``margin`` would hide
        more than ``1 - EVENT_REACH`` of them, the limit comes down until ``EVENT_REACH`` of the
        event rows are above it, but never below the plain ``target_far`` quantile of the normal
        scores: the false-alarm target on the normal period still holds. Events never raise it.
        """
        s = smooth_scores(np.asarray(normal_scores, dtype=np.float64), self.smooth, self.centered)
        s = s[np.isfinite(s)]
        if len(s) == 0:
            raise ProcessError("정상 구간 점수가 없습니다 / No normal-period scores to calibrate on")
        med = float(np.median(s))
        q = float(np.quantile(s, 1.0 - self.target_far))
        thr = med + (q - med) * self.margin
        ev = np.asarray(event_scores if event_scores is not None else [], dtype=np.float64)
        ev = ev[np.isfinite(ev)]
        if len(ev):
            thr = min(thr, max(float(np.quantile(ev, 1.0 - EVENT_REACH)), q))
        return replace(self, threshold=max(thr, 1e-12), baseline=min(med, thr))

    def with_target(
        self, target_far: float, normal_scores: np.ndarray, event_scores: np.ndarray | None = None
    ) -> AlarmPolicy:
        """Recalibrate for another false-alarm target (the web slider)."""
        return replace(self, target_far=target_far).calibrate(normal_scores, event_scores)

    @property
    def clear_level(self) -> float:
        """Score below which an active alarm clears."""
        thr = float(self.threshold or 0.0)
        return self.baseline + self.hysteresis * (thr - self.baseline)

    def mask(self, scores: np.ndarray) -> np.ndarray:
        """Boolean alarm state per row after smoothing, hysteresis and minimum duration."""
        if self.threshold is None:
            raise ProcessError("임계값이 없습니다: calibrate() 먼저 / No threshold: call calibrate() first")
        s = smooth_scores(scores, self.smooth, self.centered)
        on = s > self.threshold
        off = s < self.clear_level
        state = np.zeros(len(s), dtype=bool)
        active = False
        on_l, off_l = on.tolist(), off.tolist()
        for i in range(len(s)):
            active = not off_l[i] if active else on_l[i]
            state[i] = active
        if self.min_duration > 1:
            thr = float(self.threshold)
            need = self.short_area * self.min_duration
            for a, b in _runs(state):
                if b - a >= self.min_duration:
                    continue
                intense = b - a > self.smooth and float(np.sum(s[a:b] / thr - 1.0)) >= need
                if not intense:
                    state[a:b] = False
        return state

    def alarms(self, scores: np.ndarray) -> list[Alarm]:
        state = self.mask(scores)
        s = np.asarray(scores, dtype=np.float64)
        return [Alarm(a, b, float(np.nanmax(s[a:b]))) for a, b in _runs(state)]


def _runs(state: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of True."""
    x = np.concatenate([[0], state.astype(np.int8), [0]])
    d = np.diff(x)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))
