"""The process model users train and score with: detector + calibrated alarm policy + explanations.

Typical use::

    frame, report = load_sensor_file("pump.csv")
    model = train(frame, normal_period=(0, 2000))
    result = model.score(frame)
    [a.message_en for a in result.alarms]
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aion.solutions.process.alarms import Alarm, AlarmPolicy, smooth_scores
from aion.solutions.process.changepoint import detect_changepoints
from aion.solutions.process.detectors import REGISTRY, AutoDetector, Detector
from aion.solutions.process.detectors.flatline import FlatlineGuard
from aion.solutions.process.errors import NotFittedError, ProcessError
from aion.solutions.process.explain import explain_alarm
from aion.solutions.process.frame import SensorFrame

FORMAT = "aion-process-model"
FORMAT_VERSION = 1
Progress = Callable[[str, float], None]


@dataclass
class TrainConfig:
    """Everything ``train`` needs besides the data. Defaults are one configuration for all plants."""

    detector: str = "auto"
    target_far: float = 0.01
    input_smooth: int = 10
    smooth: int = 8
    hysteresis: float = 0.7
    min_duration: int = 30
    margin: float = 2.0
    drift_margin: bool = True
    autoencoder: bool = False
    top_k: int = 2
    #: smooth with centred windows: for whole files scored after the fact (no delay); live: False
    centered: bool = False
    far_weight: float = 10.0
    flatline_window: int = 10
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ScoreResult:
    """Scores, alarm state and explained alarms for every row of a scored frame."""

    columns: list[str]
    scores: np.ndarray
    threshold: float
    alarm_mask: np.ndarray
    alarms: list[Alarm]
    changepoints: list[int]
    timestamps: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "timestamps": self.timestamps,
            "scores": [round(float(s), 6) for s in self.scores],
            "threshold": self.threshold,
            "alarm_mask": [int(b) for b in self.alarm_mask],
            "alarms": [a.to_dict() for a in self.alarms],
            "changepoints": self.changepoints,
        }


def _smooth_input(X: np.ndarray, window: int, centered: bool = False) -> np.ndarray:
    if window <= 1:
        return X
    return pd.DataFrame(X).rolling(window, min_periods=1, center=centered).mean().to_numpy()


def propose_normal_period(frame: SensorFrame) -> tuple[int, int]:
    """A normal period to offer the user: the first stable regime (at least 10% of rows), else 30%."""
    n = len(frame)
    cps = detect_changepoints(frame.values, min_size=max(10, n // 50), penalty_factor=10.0)
    bounds = [0, *cps, n]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b - a >= max(50, n // 10):
            return a, b
    return 0, max(2, int(n * 0.3))


def _rows(frame: SensorFrame, period: tuple[Any, Any]) -> tuple[int, int]:
    a, b = frame.row_of(period[0]), frame.row_of(period[1])
    a, b = max(0, a), min(len(frame), b)
    if b - a < 10:
        raise ProcessError(
            f"정상 구간이 너무 짧습니다: {period} ({b - a}행) / "
            f"Normal period too short: {period} ({b - a} rows)"
        )
    return a, b


@dataclass
class ProcessModel:
    """A trained model: its sensors, detector, calibrated alarm policy and training facts."""

    columns: list[str]
    config: TrainConfig
    detector: Detector
    policy: AlarmPolicy
    normal_scores: np.ndarray
    normal_period: tuple[int, int]
    center: np.ndarray
    scale: np.ndarray
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    guard: FlatlineGuard | None = None
    #: smoothed detector scores of the labelled event rows (None without events)
    event_scores: np.ndarray | None = None

    def _raw(self, frame: SensorFrame) -> np.ndarray:
        missing = [c for c in self.columns if c not in frame.columns]
        if len(missing) == len(self.columns):
            raise ProcessError(
                f"학습한 센서가 하나도 없습니다: {self.columns} / "
                f"None of the trained sensors found: {self.columns}"
            )
        return frame.select(self.columns).values

    def _prepare(self, frame: SensorFrame) -> np.ndarray:
        return _smooth_input(self._raw(frame), self.config.input_smooth, self.config.centered)

    def _parts(self, raw: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Detector scores and the flat-line scores mapped onto the alarm scale (or None)."""
        scores = self.detector.score(X)
        guard = getattr(self, "guard", None)
        if guard is None:
            return scores, None
        thr = float(self.policy.threshold or 1.0)
        return scores, guard.score(raw) * thr

    def raw_scores(self, frame: SensorFrame) -> np.ndarray:
        """One score per row: the detector's, or the flat-line score where a sensor froze."""
        raw = self._raw(frame)
        scores, flat = self._parts(raw, _smooth_input(raw, self.config.input_smooth, self.config.centered))
        return scores if flat is None else np.maximum(scores, flat)

    def score(self, frame: SensorFrame, explain: bool = True, changepoints: bool = True) -> ScoreResult:
        """Score every row, raise alarms and explain each one."""
        raw = self._raw(frame)
        X = _smooth_input(raw, self.config.input_smooth, self.config.centered)
        det_scores, flat = self._parts(raw, X)
        scores = det_scores if flat is None else np.maximum(det_scores, flat)
        mask = self.policy.mask(scores)
        alarms = self.policy.alarms(scores)
        ts = None if frame.timestamps is None else [str(t) for t in frame.timestamps]
        if alarms and explain:
            contrib = self.detector.contributions(X)
            ratio = None
            if flat is not None and self.guard is not None:
                # weigh each row's explanation by which part raised it (squared: the larger dominates)
                wd = (det_scores / max(float(self.policy.threshold or 1.0), 1e-12))[:, None] ** 2
                wf = (flat / max(float(self.policy.threshold or 1.0), 1e-12))[:, None] ** 2
                contrib = (wd * contrib + wf * self.guard.contributions(raw)) / np.maximum(wd + wf, 1e-12)
                ratio = np.where(wf > wd, self.guard.variation_ratio(raw), np.nan)
            for a in alarms:
                if ts is not None:
                    a.start_time, a.end_time = ts[a.start], ts[a.end - 1]
                explain_alarm(a, contrib, X, self.columns, self.center, self.scale, variation=ratio)
        cps = detect_changepoints(X) if changepoints else []
        return ScoreResult(
            list(self.columns), scores, float(self.policy.threshold or 0.0), mask, alarms, cps, ts
        )

    def with_target_far(self, target_far: float) -> ProcessModel:
        """The same model with limits recalibrated for another false-alarm target."""
        ev = getattr(self, "event_scores", None)
        return replace(self, policy=self.policy.with_target(target_far, self.normal_scores, ev))

    def summary(self) -> dict[str, Any]:
        det = self.detector
        return {
            "columns": self.columns,
            "config": self.config.to_dict(),
            "threshold": self.policy.threshold,
            "normal_period": list(self.normal_period),
            "detectors": det.describe() if isinstance(det, AutoDetector) else [{"name": det.name}],
            "created": self.created,
        }

    def save(self, path: str | Path) -> None:
        payload = {"format": FORMAT, "version": FORMAT_VERSION, "model": self}
        Path(path).write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))

    @classmethod
    def load(cls, path: str | Path) -> ProcessModel:
        """Load a model saved by :meth:`save`. Model files are code (pickle): only load trusted files."""
        try:
            payload = pickle.loads(Path(path).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as e:
            raise ProcessError(
                f"모델 파일을 읽을 수 없습니다: {path} / Cannot read model file: {path}"
            ) from e
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ProcessError(f"AI-on 공정 모델이 아닙니다: {path} / Not an AI-on process model: {path}")
        model = payload["model"]
        if not isinstance(model, ProcessModel):
            raise NotFittedError(f"손상된 모델: {path} / Corrupt model: {path}")
        return model


def drift_inflation(det: Detector, normal: np.ndarray, policy: AlarmPolicy, holdout: float = 0.3) -> float:
    """How much the limit must grow to hold the false-alarm target on later, unseen normal rows.

    The detector is refitted on the first ``1 - holdout`` of the normal period; the ratio of the
    held-out part's score quantile to the fitted part's is the inflation (1 to 4).
    """
    n = len(normal)
    cut = int(n * (1 - holdout))
    if cut < 20 or n - cut < 10:
        return 1.0
    probe = det.clone()
    if isinstance(det, AutoDetector):
        probe = AutoDetector(
            candidates=[m.clone() for m in det.members_],
            top_k=len(det.members_),
            target_far=det.target_far,
            far_weight=det.far_weight,
            seed=det.seed,
        )
    probe.fit(normal[:cut], feature_names=det.feature_names_)
    q = 1.0 - policy.target_far
    fit_scores = smooth_scores(probe.score(normal[:cut]), policy.smooth, policy.centered)
    med = float(np.median(fit_scores))
    fit_s = float(np.quantile(fit_scores, q)) - med
    hold_s = (
        float(np.quantile(smooth_scores(probe.score(normal), policy.smooth, policy.centered)[cut:], q)) - med
    )
    return float(np.clip(hold_s / max(fit_s, 1e-12), 1.0, 4.0))


def make_detector(config: TrainConfig) -> Detector:
    if config.detector == "auto":
        return AutoDetector(
            target_far=config.target_far,
            top_k=config.top_k,
            autoencoder=config.autoencoder,
            far_weight=config.far_weight,
            seed=config.seed,
        )
    if config.detector not in REGISTRY:
        raise ProcessError(
            f"알 수 없는 검출기: {config.detector!r} (가능: {sorted(REGISTRY)}) / "
            f"Unknown detector {config.detector!r}; valid: {sorted(REGISTRY)}"
        )
    return REGISTRY[config.detector]()


def train(
    frame: SensorFrame,
    normal_period: tuple[Any, Any] | None = None,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
    events: np.ndarray | None = None,
) -> ProcessModel:
    """Train on the normal period (rows or timestamps ``(start, end)``; proposed when None).

    ``events``: optional 0/1 per row of ``frame`` marking known abnormal rows; they never train the
    detectors but help choose them (``auto``) and set the limit (see ``AlarmPolicy.calibrate``).
    Without it, a frame label column ``anomaly`` is used if present.
    """
    cfg = config or TrainConfig()
    if progress:
        progress("normal period", 0.0)
    a, b = _rows(frame, normal_period) if normal_period is not None else propose_normal_period(frame)
    X = _smooth_input(frame.values, cfg.input_smooth, cfg.centered)
    normal = X[a:b]
    ev = events if events is not None else frame.labels.get("anomaly")
    det = make_detector(cfg)
    ev_rows = np.zeros(0, dtype=int)
    if ev is not None:
        ev_mask = np.asarray(ev) > 0
        if len(ev_mask) != len(frame):
            raise ProcessError(
                f"이벤트 표시 길이가 다릅니다: {len(ev_mask)} (행 {len(frame)}) / "
                f"Events must mark every row: got {len(ev_mask)} values for {len(frame)} rows"
            )
        ev_rows = np.flatnonzero(ev_mask)
        normal_keep = ~ev_mask[a:b]
        normal = normal[normal_keep] if normal_keep.sum() >= 10 else normal
    if isinstance(det, AutoDetector):
        data = np.vstack([normal, X[ev_rows]])
        flags = np.r_[np.zeros(len(normal), dtype=bool), np.ones(len(ev_rows), dtype=bool)]

        def sub(msg: str, frac: float) -> None:
            if progress:
                progress(msg, 0.05 + 0.85 * frac)

        det.fit_labelled(data, flags if len(ev_rows) else None, feature_names=frame.columns, progress=sub)
    else:
        det.fit(normal, feature_names=frame.columns)
    normal_scores = det.score(normal)
    base = AlarmPolicy(
        target_far=cfg.target_far,
        smooth=cfg.smooth,
        hysteresis=cfg.hysteresis,
        min_duration=cfg.min_duration,
        margin=cfg.margin,
        centered=cfg.centered,
    )
    if cfg.drift_margin:
        if progress:
            progress("drift margin", 0.92)
        base = replace(base, margin=cfg.margin * drift_inflation(det, normal, base))
    event_scores = None
    if len(ev_rows):
        event_scores = smooth_scores(det.score(X), base.smooth, base.centered)[ev_rows]
    policy = base.calibrate(normal_scores, event_scores)
    guard = _fit_guard(frame.values[a:b], cfg)
    if progress:
        progress("done", 1.0)
    return ProcessModel(
        columns=list(frame.columns),
        config=cfg,
        detector=det,
        policy=policy,
        normal_scores=normal_scores,
        normal_period=(a, b),
        center=det.center_,
        scale=det.scale_,
        guard=guard,
        event_scores=event_scores,
    )


def _fit_guard(raw_normal: np.ndarray, cfg: TrainConfig) -> FlatlineGuard | None:
    """The flat-line guard on the raw normal rows (off when the window is < 3 or the period short)."""
    if cfg.flatline_window < 3 or len(raw_normal) < 4 * cfg.flatline_window:
        return None
    return FlatlineGuard(window=cfg.flatline_window).fit(raw_normal)
