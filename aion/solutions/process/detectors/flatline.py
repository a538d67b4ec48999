"""Flat-lined (stuck) sensor detection from rolling variability.

A sensor that freezes can freeze at a perfectly ordinary value, where no detector of *values* sees
it. What changes is its variability: the rolling standard deviation over ``window`` readings drops
far below anything the normal period showed. Per sensor we learn the median and spread (MAD) of
``log(rolling std)`` on the normal period; the score of a sensor at a row is how many spreads its
current log-variability lies *below* the median (one-sided: only "too quiet" counts), divided by
the sensor's own limit: ``max(min_z, 1.5 x`` its 99.9 % quantile on the normal period``)``, so 1.0
is the alarm limit. Sensors that are often flat when healthy (coarsely quantised, or held by a
historian) learn a high limit or are switched off: the normal period decides, per sensor.

Missing readings are no evidence: a window with fewer than half its readings present scores 0.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(400, 2))
>>> g = FlatlineGuard(window=10).fit(X[:300])
>>> X[350:, 1] = 0.3  # sensor 1 freezes at an ordinary value
>>> s = g.score(X)
>>> bool(s[370:].min() > 1.0 > s[:300].max()), int(np.argmax(g.sensor_scores(X)[380]))
(True, 1)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from aion.solutions.process.detectors.base import as_matrix
from aion.solutions.process.errors import NotFittedError, ProcessError

#: variability below this share of a sensor's typical rolling std counts as exactly flat
FLOOR = 1e-3


class FlatlineGuard:
    """Per-sensor "too little variation" scores; see the module docstring."""

    def __init__(self, window: int = 10, min_z: float = 6.0) -> None:
        if window < 3:
            raise ProcessError(f"window={window}: 3 이상이어야 함 / must be at least 3")
        self.window = window
        self.min_z = min_z

    def _rolling_std(self, X: np.ndarray) -> np.ndarray:
        df = pd.DataFrame(X)
        return df.rolling(self.window, min_periods=self.window // 2 + 1).std(ddof=0).to_numpy()

    def _log_var(self, X: np.ndarray) -> np.ndarray:
        sd = self._rolling_std(X)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log(np.maximum(sd, self.floor_))

    def fit(self, X: np.ndarray) -> FlatlineGuard:
        """Learn each sensor's normal variability from the rows of ``X`` (NaN allowed)."""
        arr = as_matrix(X)
        if arr.shape[0] < 2 * self.window:
            raise ProcessError(
                f"학습 행이 너무 적습니다: {arr.shape[0]} / Too few rows to learn variability: {arr.shape[0]}"
            )
        sd = self._rolling_std(arr)
        typical = np.nan_to_num(np.nanmedian(sd, axis=0))
        self.typical_std_ = typical
        self.floor_ = np.where(typical > 0, typical * FLOOR, 1e-12)
        lv = self._log_var(arr)
        med = np.nanmedian(lv, axis=0)
        mad = 1.4826 * np.nanmedian(np.abs(lv - med), axis=0)
        self.median_ = np.nan_to_num(med)
        self.spread_ = np.where(np.isfinite(mad) & (mad > 1e-6), mad, np.inf)
        # a sensor whose typical window is already flat cannot be judged by its variability
        self.active_ = typical > 0
        self.limit_ = np.ones(arr.shape[1])
        z = self._z(lv)
        self.limit_ = np.maximum(self.min_z, 1.5 * np.quantile(z, 0.999, axis=0))
        return self

    def _z(self, lv: np.ndarray) -> np.ndarray:
        z = (self.median_ - lv) / self.spread_
        z = np.where(self.active_, np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0), 0.0)
        return np.maximum(z, 0.0)

    def _check(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "median_"):
            raise NotFittedError("FlatlineGuard: 먼저 fit 해야 합니다 / call fit() before scoring")
        arr = as_matrix(X)
        if arr.shape[1] != len(self.median_):
            raise ProcessError(
                f"센서 수가 다릅니다: {arr.shape[1]} (학습 {len(self.median_)}) / "
                f"Expected {len(self.median_)} sensors, got {arr.shape[1]}"
            )
        return arr

    def sensor_scores(self, X: np.ndarray) -> np.ndarray:
        """``(rows, sensors)``: quietness relative to each sensor's limit (over 1.0 = flat-lined)."""
        arr = self._check(X)
        return self._z(self._log_var(arr)) / self.limit_

    def score(self, X: np.ndarray) -> np.ndarray:
        """Per row, the quietest sensor's score."""
        z = self.sensor_scores(X)
        return z.max(axis=1) if z.shape[1] else np.zeros(z.shape[0])

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-row shares of the flatness (rows sum to 1; uniform where nothing is flat)."""
        z = self.sensor_scores(X) ** 2
        total = z.sum(axis=1, keepdims=True)
        uniform = np.full_like(z, 1.0 / max(z.shape[1], 1))
        return np.where(total > 1e-12, z / np.maximum(total, 1e-12), uniform)

    def variation_ratio(self, X: np.ndarray) -> np.ndarray:
        """``(rows, sensors)``: rolling std as a share of the sensor's typical normal rolling std."""
        sd = self._rolling_std(self._check(X))
        return np.nan_to_num(sd / np.where(self.typical_std_ > 0, self.typical_std_, np.inf), nan=1.0)
