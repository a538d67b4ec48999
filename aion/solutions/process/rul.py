"""Remaining-useful-life regression on run-to-failure data (C-MAPSS layout, or any fleet of units).

Features per (unit, cycle): the cycle number and, for each informative sensor, the last value,
the means over the last 5, 10 and ``window`` cycles, the slope over the last ``window`` cycles and
an exponentially smoothed value. A gradient-boosted tree ensemble regresses the RUL capped at
``rul_cap`` (the piece-wise linear target of the C-MAPSS literature).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aion.solutions.process.errors import ProcessError

CMAPSS_COLUMNS = ["unit", "cycle", "op1", "op2", "op3"] + [f"s{i}" for i in range(1, 22)]


def read_cmapss(path: str | Path) -> pd.DataFrame:
    """One C-MAPSS text file (whitespace separated, no header)."""
    p = Path(path)
    if not p.exists():
        raise ProcessError(f"파일이 없습니다: {p} / File not found: {p}")
    df = pd.read_csv(p, sep=r"\s+", header=None)
    df = df.iloc[:, : len(CMAPSS_COLUMNS)]
    df.columns = CMAPSS_COLUMNS[: df.shape[1]]
    return df


def phm08_score(error: np.ndarray) -> float:
    """PHM08 asymmetric score of ``predicted - true`` RUL (late predictions cost more)."""
    d = np.asarray(error, dtype=np.float64)
    return float(np.sum(np.where(d < 0, np.exp(-d / 13.0) - 1, np.exp(d / 10.0) - 1)))


def window_features(df: pd.DataFrame, sensors: list[str], window: int) -> pd.DataFrame:
    """Feature rows for every (unit, cycle) of ``df`` using only that unit's past."""
    g = df.groupby("unit", sort=False)
    feats: dict[str, Any] = {"cycle": df["cycle"].to_numpy(dtype=np.float64)}
    t = df["cycle"].astype(np.float64)
    for s in sensors:
        x = df[s].astype(np.float64)
        gx = x.groupby(df["unit"], sort=False)
        feats[f"{s}_last"] = x.to_numpy()
        for w in (5, 10, window):
            feats[f"{s}_m{w}"] = gx.transform(lambda v, w=w: v.rolling(w, min_periods=1).mean()).to_numpy()
        feats[f"{s}_ewm"] = gx.transform(lambda v: v.ewm(alpha=0.1).mean()).to_numpy()
        # rolling slope: cov(t, x) / var(t) over the window
        mt = t.groupby(df["unit"]).transform(lambda v: v.rolling(window, min_periods=2).mean())
        mx = feats[f"{s}_m{window}"]
        mtx = (t * x).groupby(df["unit"]).transform(lambda v: v.rolling(window, min_periods=2).mean())
        mtt = (t * t).groupby(df["unit"]).transform(lambda v: v.rolling(window, min_periods=2).mean())
        var = (mtt - mt**2).to_numpy()
        feats[f"{s}_slope"] = np.where(
            var > 1e-9, (mtx.to_numpy() - mt.to_numpy() * mx) / np.maximum(var, 1e-9), 0.0
        )
    del g
    return pd.DataFrame(feats, index=df.index)


@dataclass
class RulResult:
    """``rmse`` and ``phm_score`` against the truth capped at the RUL cap (the C-MAPSS convention);
    ``rmse_uncapped`` against the raw truth, for reference."""

    rmse: float
    phm_score: float
    units: int
    rmse_uncapped: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RulRegressor:
    """Gradient-boosted RUL regressor on per-unit window features."""

    def __init__(self, window: int = 30, rul_cap: int = 125, max_iter: int = 400, seed: int = 0) -> None:
        self.window = window
        self.rul_cap = rul_cap
        self.max_iter = max_iter
        self.seed = seed

    def fit(self, df: pd.DataFrame, progress: Callable[[str, float], None] | None = None) -> RulRegressor:
        """``df``: columns ``unit``, ``cycle`` and sensors; each unit runs to failure at its last cycle."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        cand = [c for c in df.columns if c not in ("unit", "cycle")]
        std = df[cand].std()
        self.sensors_ = [c for c in cand if std[c] > 1e-6 and df[c].nunique() > 5]
        if not self.sensors_:
            raise ProcessError("변하는 센서가 없습니다 / No varying sensors to learn from")
        if progress:
            progress("features", 0.1)
        X = window_features(df, self.sensors_, self.window)
        last = df.groupby("unit")["cycle"].transform("max")
        y = np.minimum(last - df["cycle"], self.rul_cap).to_numpy(dtype=np.float64)
        if progress:
            progress("boosting", 0.3)
        self.model_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=0.05,
            max_leaf_nodes=31,
            min_samples_leaf=40,
            l2_regularization=1.0,
            random_state=self.seed,
        ).fit(X.to_numpy(), y)
        self.feature_names_ = list(X.columns)
        if progress:
            progress("done", 1.0)
        return self

    def predict_last(self, df: pd.DataFrame) -> pd.Series:
        """Predicted RUL at the last observed cycle of each unit."""
        if not hasattr(self, "model_"):
            from aion.solutions.process.errors import NotFittedError

            raise NotFittedError("RulRegressor: fit() 먼저 / call fit() first")
        X = window_features(df, self.sensors_, self.window)
        is_last = df["cycle"] == df.groupby("unit")["cycle"].transform("max")
        pred = np.clip(self.model_.predict(X.loc[is_last].to_numpy()), 0, self.rul_cap)
        return pd.Series(pred, index=df.loc[is_last, "unit"].to_numpy())


def evaluate_cmapss(
    root: str | Path, subset: str = "FD001", progress: Callable[[str, float], None] | None = None
) -> RulResult:
    """The FD001 protocol: train on ``train_FD001``, RMSE and PHM08 score at each test unit's last cycle."""
    root = Path(root)
    train = read_cmapss(root / f"train_{subset}.txt")
    test = read_cmapss(root / f"test_{subset}.txt")
    true = pd.read_csv(root / f"RUL_{subset}.txt", sep=r"\s+", header=None).iloc[:, 0].to_numpy(dtype=float)
    model = RulRegressor().fit(train.drop(columns=["op3"], errors="ignore"), progress=progress)
    pred = model.predict_last(test.drop(columns=["op3"], errors="ignore")).sort_index().to_numpy()
    true_c = np.minimum(true, model.rul_cap)
    err = pred - true_c
    raw = float(np.sqrt(np.mean((pred - true) ** 2)))
    return RulResult(
        round(float(np.sqrt(np.mean(err**2))), 3), round(phm08_score(err), 1), len(pred), round(raw, 3)
    )
