"""Stored scores of a trained process model and alarms recomputed from them (no web, no database).

Training writes one ``.npz`` file next to the model: per-row scores, per-row sensor contributions,
the smoothed and raw values and the calibration facts. Moving the false-alarm target only
recalibrates the limit on the stored normal-period scores (:meth:`AlarmPolicy.with_target`) and
re-reads the alarms from the stored scores: no retraining, no rescoring.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aion.solutions.process.alarms import Alarm, AlarmPolicy
from aion.solutions.process.explain import explain_alarm
from aion.solutions.process.frame import SensorFrame
from aion.solutions.process.model import ProcessModel, _smooth_input


@dataclass
class StoredScores:
    columns: list[str]
    timestamps: list[str] | None
    scores: np.ndarray
    contributions: np.ndarray
    smoothed: np.ndarray
    raw: np.ndarray
    variation: np.ndarray | None
    normal_scores: np.ndarray
    normal_period: tuple[int, int]
    center: np.ndarray
    scale: np.ndarray
    policy: AlarmPolicy
    #: smoothed scores of the rows labelled as known events at training (None without events)
    event_scores: np.ndarray | None = None

    def alarms(self, target_far: float | None = None) -> tuple[AlarmPolicy, list[Alarm], np.ndarray]:
        """The policy for ``target_far`` (the trained one when None), its explained alarms and mask."""
        policy = (
            self.policy
            if target_far is None
            else self.policy.with_target(target_far, self.normal_scores, self.event_scores)
        )
        alarms = policy.alarms(self.scores)
        for a in alarms:
            if self.timestamps is not None:
                a.start_time, a.end_time = self.timestamps[a.start], self.timestamps[a.end - 1]
            explain_alarm(
                a,
                self.contributions,
                self.smoothed,
                self.columns,
                self.center,
                self.scale,
                variation=self.variation,
            )
        return policy, alarms, policy.mask(self.scores)

    def save(self, path: str | Path) -> None:
        meta = {
            "columns": self.columns,
            "timestamps": self.timestamps,
            "normal_period": list(self.normal_period),
            "policy": asdict(self.policy),
        }
        arrays: dict[str, Any] = {
            "scores": self.scores,
            "contributions": self.contributions.astype(np.float32),
            "smoothed": self.smoothed.astype(np.float32),
            "raw": self.raw.astype(np.float32),
            "normal_scores": self.normal_scores,
            "center": self.center,
            "scale": self.scale,
            "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        }
        if self.variation is not None:
            arrays["variation"] = self.variation.astype(np.float32)
        if self.event_scores is not None:
            arrays["event_scores"] = self.event_scores
        with open(path, "wb") as f:
            np.savez_compressed(f, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> StoredScores:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            return cls(
                columns=list(meta["columns"]),
                timestamps=meta["timestamps"],
                scores=z["scores"].astype(np.float64),
                contributions=z["contributions"].astype(np.float64),
                smoothed=z["smoothed"].astype(np.float64),
                raw=z["raw"].astype(np.float64),
                variation=z["variation"].astype(np.float64) if "variation" in z else None,
                normal_scores=z["normal_scores"],
                normal_period=(int(meta["normal_period"][0]), int(meta["normal_period"][1])),
                center=z["center"],
                scale=z["scale"],
                policy=AlarmPolicy(**meta["policy"]),
                event_scores=z.get("event_scores"),
            )


def score_and_store(model: ProcessModel, frame: SensorFrame) -> StoredScores:
    """Score every row once and keep what alarms and explanations need (as ``ProcessModel.score``)."""
    raw = model._raw(frame)
    X = _smooth_input(raw, model.config.input_smooth, model.config.centered)
    det_scores, flat = model._parts(raw, X)
    scores = det_scores if flat is None else np.maximum(det_scores, flat)
    contrib = model.detector.contributions(X)
    variation = None
    if flat is not None and model.guard is not None:
        thr = max(float(model.policy.threshold or 1.0), 1e-12)
        wd = (det_scores / thr)[:, None] ** 2
        wf = (flat / thr)[:, None] ** 2
        contrib = (wd * contrib + wf * model.guard.contributions(raw)) / np.maximum(wd + wf, 1e-12)
        variation = np.where(wf > wd, model.guard.variation_ratio(raw), np.nan)
    ts = None if frame.timestamps is None else [str(t) for t in frame.timestamps]
    return StoredScores(
        columns=list(model.columns),
        timestamps=ts,
        scores=np.asarray(scores, dtype=np.float64),
        contributions=np.asarray(contrib, dtype=np.float64),
        smoothed=np.asarray(X, dtype=np.float64),
        raw=np.asarray(raw, dtype=np.float64),
        variation=variation,
        normal_scores=np.asarray(model.normal_scores, dtype=np.float64),
        normal_period=model.normal_period,
        center=np.asarray(model.center, dtype=np.float64),
        scale=np.asarray(model.scale, dtype=np.float64),
        policy=model.policy,
        event_scores=getattr(model, "event_scores", None),
    )
