"""The SKAB evaluation protocol, computed the way the SKAB leaderboard computes it.

Outliers: in each labelled file the first ``train_rows`` (400) rows train, the rest are tested; TP,
FP, TN and FN are summed over all test rows of all files; F1 = TP / (TP + (FP + FN) / 2), FAR % =
FP / (FP + TN), MAR % = FN / (FN + TP), each rounded to 2 decimals.

Changepoints: the NAB score of SKAB's evaluation module (``chp_score(metric="nab",
window_width="60s", anomaly_window_destination="righter")`` in its notebooks): a detection window of
``nab_window`` seconds starting at each true changepoint (overlaps cut from the right window); in
each window only the
first predicted changepoint counts, scored by a scaled tanh from A_tp (window start) to A_fp
(window end); predictions outside windows cost A_fp; empty windows cost A_fn. Scores, the null and
the perfect detector are summed over files; the result is ``100 (S - null) / (perfect - null)``.

Predicted changepoints: ``nab_*`` are the platform's changepoint detector (the regime shifts that
``ProcessModel.score`` reports for a whole file, i.e. found after the fact, not live);
``nab_edges_*`` are the edges of the predicted outlier series, as in SKAB's notebooks (what a
live alarm stream gives).

Training is unsupervised: the labels of the first rows are never shown to the platform. By default
files are scored after the fact (centred smoothing, ``TrainConfig(centered=True)``); pass
``TrainConfig()`` for the live, causal figures.

>>> binary_scores([np.array([0, 1, 1, 0])], [np.array([0, 1, 0, 1])])
(0.5, 50.0, 50.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aion.solutions.process.errors import ProcessError
from aion.solutions.process.frame import SensorFrame
from aion.solutions.process.loading import load_sensor_file

NAB_PROFILES = {"standard": (1.0, -0.11, -1.0), "low_fp": (1.0, -0.22, -1.0), "low_fn": (1.0, -0.11, -2.0)}


def binary_scores(trues: list[np.ndarray], preds: list[np.ndarray]) -> tuple[float, float, float]:
    """SKAB's F1, FAR % and MAR % over all rows of all series together."""
    tp = tn = fp = fn = 0
    for t, p in zip(trues, preds, strict=True):
        ti, pi = np.asarray(t) == 1, np.asarray(p) == 1
        tp += int(np.sum(ti & pi))
        tn += int(np.sum(~ti & ~pi))
        fp += int(np.sum(~ti & pi))
        fn += int(np.sum(ti & ~pi))
    f1 = tp / (tp + (fn + fp) / 2) if tp + fn + fp else 1.0
    far = fp / (fp + tn) * 100 if fp + tn else 0.0
    mar = fn / (fn + tp) * 100 if fn + tp else 0.0
    return round(f1, 2), round(far, 2), round(mar, 2)


def edges(pred: np.ndarray) -> np.ndarray:
    """Predicted changepoints from a 0/1 series: ``|diff|`` with the first value kept."""
    p = np.asarray(pred, dtype=np.int64)
    out = np.abs(np.diff(p, prepend=0))
    out[0] = p[0] if len(p) else 0
    return out


def _nab_scale(t0: float, t_det: float, t2: float, a_tp: float, a_fp: float) -> float:
    detail = 1000
    event = int((t_det - t0) / (t2 - t0) * detail) if t2 > t0 else 0
    event = min(max(event, 0), detail - 1)
    x = -math.pi / 2 + event * math.pi / (detail - 1)
    return (a_tp - a_fp) / 2 * -math.tanh(x) / math.tanh(math.pi / 2) + (a_tp - a_fp) / 2 + a_fp


def nab_scores(
    true_cps: list[np.ndarray],
    pred_cps: list[np.ndarray],
    times: list[np.ndarray],
    window_s: float = 60.0,
    destination: str = "righter",
) -> dict[str, float]:
    """NAB standard / low-FP / low-FN scores (0 = null detector, 100 = perfect), SKAB style.

    ``destination``: where the window lies relative to the changepoint: ``righter`` (after it, the
    SKAB leaderboard), ``center`` or ``lefter``.
    """
    offsets = {"righter": (0.0, 1.0), "center": (-0.5, 0.5), "lefter": (-1.0, 0.0)}
    if destination not in offsets:
        raise ProcessError(f"destination={destination!r}: {sorted(offsets)}")
    lo, hi = offsets[destination]
    totals = {k: [0.0, 0.0, 0.0] for k in NAB_PROFILES}  # score, null, perfect
    for tc, pc, tm in zip(true_cps, pred_cps, times, strict=True):
        t = np.asarray(tm, dtype=np.float64)
        cps = t[np.asarray(tc) == 1]
        wins = [[c + lo * window_s, c + hi * window_s] for c in cps]
        for i in range(len(wins) - 1):
            if wins[i][1] >= wins[i + 1][0]:
                wins[i + 1][0] = wins[i][1]
        pred_t = np.sort(t[np.asarray(pc) == 1])
        tps: list[tuple[float, float, float]] = []
        if not wins:
            n_fp, n_fn = len(pred_t), 0
        else:
            n_fp = int(np.sum(pred_t < wins[0][0])) + int(np.sum(pred_t > wins[-1][1]))
            for i in range(len(wins) - 1):
                n_fp += int(np.sum((pred_t > wins[i][1]) & (pred_t < wins[i + 1][0])))
            n_fn = 0
            for a, b in wins:
                inside = pred_t[(pred_t >= a) & (pred_t <= b)]
                if len(inside):
                    tps.append((a, float(inside[0]), b))
                else:
                    n_fn += 1
        for name, (a_tp, a_fp, a_fn) in NAB_PROFILES.items():
            s = a_fp * n_fp + a_fn * n_fn + sum(_nab_scale(a, d, b, a_tp, a_fp) for a, d, b in tps)
            totals[name][0] += s
            totals[name][1] += len(wins) * a_fn
            totals[name][2] += len(wins) * a_tp
    out = {}
    for name, (s, null, perfect) in totals.items():
        out[name] = round(100 * (s - null) / (perfect - null), 2) if perfect != null else 0.0
    return out


@dataclass
class FileResult:
    path: str
    test_rows: int
    f1: float
    far: float
    mar: float
    detectors: list[str] = field(default_factory=list)


@dataclass
class SkabResult:
    """Aggregated SKAB outcome; ``to_dict`` gives the keys of ``aion process evaluate --json``."""

    f1: float
    far: float
    mar: float
    nab_standard: float
    nab_low_fp: float
    nab_low_fn: float
    nab_edges_standard: float
    nab_edges_low_fp: float
    nab_edges_low_fn: float
    files: list[FileResult]
    config: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def skab_files(root: str | Path) -> list[Path]:
    """Labelled SKAB files under ``root`` (the ``anomaly-free`` folder has no labels and is skipped)."""
    files = sorted(p for p in Path(root).rglob("*.csv") if "anomaly-free" not in p.parts)
    if not files:
        raise ProcessError(f"CSV 파일이 없습니다: {root} / No CSV files under {root}")
    return files


def evaluate_skab(
    root: str | Path,
    config: Any = None,
    train_rows: int = 400,
    nab_window_s: float = 60.0,
    progress: Callable[[str, float], None] | None = None,
) -> SkabResult:
    """Run the SKAB outlier protocol with one configuration for every file (see module docstring)."""
    from aion.solutions.process.model import TrainConfig, train

    cfg = config or TrainConfig(centered=True)
    files = skab_files(root)
    trues, preds, true_cp, pred_cp, edge_cp, times, per_file = [], [], [], [], [], [], []
    for i, path in enumerate(files):
        if progress:
            progress(path.name, i / len(files))
        frame, _ = load_sensor_file(path)
        if "anomaly" not in frame.labels or len(frame) <= train_rows:
            raise ProcessError(
                f"SKAB 형식이 아님(anomaly 열 또는 행 부족): {path} / "
                f"Not a SKAB file (no anomaly column or too short): {path}"
            )
        head = frame.slice(0, train_rows)
        head.labels = {}  # unsupervised: the labels of the training rows stay hidden
        model = train(head, normal_period=(0, train_rows), config=cfg)
        result = model.score(frame, explain=False)
        y = frame.labels["anomaly"].astype(np.int64)
        pred = result.alarm_mask[train_rows:].astype(np.int64)
        trues.append(y[train_rows:])
        preds.append(pred)
        true_cp.append(frame.labels.get("changepoint", np.zeros(len(frame)))[train_rows:].astype(np.int64))
        cps = np.zeros(len(pred), dtype=np.int64)
        cps[[c - train_rows for c in result.changepoints if c >= train_rows]] = 1
        pred_cp.append(cps)
        edge_cp.append(edges(pred))
        ts = (
            frame.timestamps
            if frame.timestamps is not None
            else pd.to_datetime(np.arange(len(frame)), unit="s")
        )
        times.append(np.asarray(pd.DatetimeIndex(ts[train_rows:]).as_unit("s").asi8, dtype=np.float64))
        f1, far, mar = binary_scores([trues[-1]], [pred])
        names = [m.name for m in getattr(model.detector, "members_", [model.detector])]
        per_file.append(FileResult(str(path), len(pred), f1, far, mar, names))
    f1, far, mar = binary_scores(trues, preds)
    nab = nab_scores(true_cp, pred_cp, times, window_s=nab_window_s)
    nab_e = nab_scores(true_cp, edge_cp, times, window_s=nab_window_s)
    if progress:
        progress("done", 1.0)
    return SkabResult(
        f1,
        far,
        mar,
        nab["standard"],
        nab["low_fp"],
        nab["low_fn"],
        nab_e["standard"],
        nab_e["low_fp"],
        nab_e["low_fn"],
        per_file,
        cfg.to_dict(),
    )


def load_skab_frame(path: str | Path) -> SensorFrame:
    return load_sensor_file(path)[0]
