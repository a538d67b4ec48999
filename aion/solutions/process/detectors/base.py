"""The detector contract shared by every anomaly detector of the process domain.

Batch verbs: ``fit(X)`` on the normal period, ``score(X)`` on any rows (higher = more abnormal).
Online verbs: ``learn_one(x)`` and ``score_one(x)`` on one reading ``{sensor: value}``.
Constructor arguments are stored under their own names; learned state ends with ``_``.
"""

from __future__ import annotations

import inspect
import pickle
from pathlib import Path
from typing import Any, ClassVar, Self, TypeAlias

import numpy as np
import pandas as pd

from aion.solutions.process.errors import NotFittedError, ProcessError

ArrayLike: TypeAlias = np.ndarray | pd.DataFrame
MIN_SCALE = 1e-9


def as_matrix(X: ArrayLike | list[list[float]]) -> np.ndarray:
    """A float64 copy of ``X`` as a 2-D array (the caller's data is never touched)."""
    arr = np.array(X.to_numpy() if isinstance(X, pd.DataFrame) else X, dtype=np.float64, copy=True)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ProcessError(
            f"2차원 배열이 필요합니다: {arr.shape} / Expected a 2-D array, got shape {arr.shape}"
        )
    return arr


def robust_center_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column median and a noise scale, robust to outliers and to coarse quantisation.

    The scale is the largest of 1.4826 MAD, IQR / 1.349 and a quarter of the standard deviation
    (each about sigma, or below it, for Gaussian noise); where more than half the readings are one
    value (IQR 0), the 10-90 % range / 2.563 too. On a quantised sensor that sits on one value most
    of the time the MAD collapses toward 0 and would turn a reading seen every few minutes into a
    "20 sigma" event; the quantile ranges keep the scale honest while a few per cent of spikes
    still cannot inflate it. Falls back to the std, then 1.
    """
    med = np.nanmedian(X, axis=0)
    mad = 1.4826 * np.nanmedian(np.abs(X - med), axis=0)
    q10, q25, q75, q90 = np.nanquantile(X, [0.1, 0.25, 0.75, 0.9], axis=0)
    std = np.nanstd(X, axis=0)
    iqr = q75 - q25
    wide = np.where(iqr > MIN_SCALE, 0.0, (q90 - q10) / 2.563)
    robust = np.maximum.reduce([mad, iqr / 1.349, wide, 0.25 * std])
    scale = np.where(robust > MIN_SCALE, robust, np.where(std > MIN_SCALE, std, 1.0))
    return np.nan_to_num(med), scale


def swing_counts(z: np.ndarray, band: float = 0.5) -> np.ndarray:
    """Per column, how often a standardised series swings from above ``+band`` to below ``-band``
    or back (a Schmitt trigger on the median, so noise inside the band does not count)."""
    hi, lo = z > band, z < -band
    out = np.zeros(z.shape[1], dtype=np.int64)
    for j in range(z.shape[1]):
        sides = np.where(hi[:, j], 1, np.where(lo[:, j], -1, 0))
        sides = sides[sides != 0]
        out[j] = int(np.count_nonzero(np.diff(sides))) if len(sides) > 1 else 0
    return out


def slow_sensor_widening(X: np.ndarray, center: np.ndarray, scale: np.ndarray, swings: int = 6) -> np.ndarray:
    """Per-sensor factor (>= 1) that widens the limits of sensors the normal period under-sampled.

    A sensor that swings across its median many times during the normal period (noise, a cycle)
    has shown its range; one that drifted through a single slow excursion (a temperature warming
    up) has not, and its level will differ later without anything being wrong. Its scale is
    multiplied by ``swings / observed swings`` (observed at least 1), so its level counts less.

    Swings are counted in units of the smaller of ``scale`` and the sensor's own standard
    deviation over the normal period. The noise scale has floors for coarsely quantised sensors
    (see :func:`robust_center_scale`), so on such a sensor, once averaged, ``scale`` can exceed
    the whole spread of the readings; counted against it, a noisy flow sensor that never stops
    moving would look "slow" and lose most of its sensitivity. The standard deviation alone has
    the opposite fault: one level shift in the period inflates it and hides the swings around
    each level. A sensor that is really slow (one warm-up ramp) swings once in either unit.
    """
    if X.shape[0] < 4 * swings:
        return np.ones(X.shape[1])
    spread = np.nanstd(X, axis=0)
    unit = np.where(spread > MIN_SCALE, np.minimum(spread, scale), scale)
    seen = swing_counts((X - center) / unit)
    return np.maximum(1.0, swings / np.maximum(seen, 1))


def impute(X: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Replace NaN/inf in ``X`` (in place on a copy we own) by the per-column ``fill``."""
    bad = ~np.isfinite(X)
    if bad.any():
        X[bad] = np.broadcast_to(fill, X.shape)[bad]
    return X


class Detector:
    """Base of all detectors. Subclasses implement ``_fit`` and ``_score`` on clean arrays."""

    name: ClassVar[str] = "detector"
    #: widen the scale of slowly drifting sensors (see :func:`slow_sensor_widening`)
    widen_slow: ClassVar[bool] = True
    #: rows buffered by the default ``learn_one`` before the first fit
    online_min_samples: ClassVar[int] = 64

    feature_names_: list[str]
    center_: np.ndarray
    scale_: np.ndarray

    # ---- parameters -------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def clone(self) -> Self:
        """A new, unfitted detector with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "feature_names_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__}: 먼저 fit 해야 합니다 / call fit() before scoring")

    # ---- batch ------------------------------------------------------------------------
    def fit(self, X: ArrayLike, feature_names: list[str] | None = None) -> Self:
        """Learn what normal looks like from the rows of ``X`` (NaN allowed)."""
        arr = as_matrix(X)
        if arr.shape[0] < 2:
            raise ProcessError(
                f"학습 행이 너무 적습니다: {arr.shape[0]} / Too few rows to fit: {arr.shape[0]}"
            )
        if feature_names is None:
            feature_names = (
                [str(c) for c in X.columns]
                if isinstance(X, pd.DataFrame)
                else [f"x{i}" for i in range(arr.shape[1])]
            )
        self.center_, self.scale_ = robust_center_scale(arr)
        self.feature_names_ = list(feature_names)
        clean = impute(arr, self.center_)
        self.widening_ = (
            slow_sensor_widening(clean, self.center_, self.scale_)
            if self.widen_slow
            else np.ones(arr.shape[1])
        )
        self.scale_ = self.scale_ * self.widening_
        self._fit(clean)
        return self

    def score(self, X: ArrayLike) -> np.ndarray:
        """One anomaly score per row (higher is more abnormal)."""
        self._check_fitted()
        arr = as_matrix(X)
        if arr.shape[1] != len(self.feature_names_):
            raise ProcessError(
                f"센서 수가 다릅니다: {arr.shape[1]} (학습 {len(self.feature_names_)}) / "
                f"Expected {len(self.feature_names_)} sensors, got {arr.shape[1]}"
            )
        return np.asarray(self._score(impute(arr, self.center_)), dtype=np.float64)

    def contributions(self, X: ArrayLike) -> np.ndarray:
        """Per-row, per-sensor share of the abnormality (rows sum to 1; default: squared robust z)."""
        self._check_fitted()
        arr = impute(as_matrix(X), self.center_)
        z2 = ((arr - self.center_) / self.scale_) ** 2
        return z2 / np.maximum(z2.sum(axis=1, keepdims=True), MIN_SCALE)

    def _fit(self, X: np.ndarray) -> None:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # ---- online -----------------------------------------------------------------------
    def _vector(self, x: dict[str, float]) -> np.ndarray:
        return np.array([x.get(k, np.nan) for k in self.feature_names_], dtype=np.float64)

    def learn_one(self, x: dict[str, float]) -> None:
        """Add one normal reading. Default: buffer and (re)fit every ``online_min_samples`` readings."""
        buf: list[dict[str, float]] = self.__dict__.setdefault("_buffer", [])
        buf.append(dict(x))
        if len(buf) % self.online_min_samples == 0:
            names = list(buf[0]) if not self.is_fitted else self.feature_names_
            rows = [[r.get(k, np.nan) for k in names] for r in buf[-50_000:]]
            self.fit(np.array(rows, dtype=np.float64), feature_names=names)

    def score_one(self, x: dict[str, float]) -> float:
        """Score one reading; 0.0 until the detector has learned enough."""
        if not self.is_fitted:
            return 0.0
        return float(self.score(self._vector(x).reshape(1, -1))[0])

    def score_values(self, values: list[float]) -> float:
        """``score_one`` on readings already in ``feature_names_`` order (NaN = missing): lets an
        ensemble read each reading once. Subclasses with a fast path override it."""
        return self.score_one(dict(zip(self.feature_names_, values, strict=True)))

    def score_many(self, X: ArrayLike) -> np.ndarray:
        """Vectorised online scoring of consecutive readings (same result as repeated ``score_one``)."""
        return self.score(X)

    # ---- persistence ------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))

    @classmethod
    def load(cls, path: str | Path) -> Detector:
        """Load a detector saved with :meth:`save`. Only load files you trust (pickle)."""
        try:
            obj = pickle.loads(Path(path).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError) as e:
            raise ProcessError(
                f"모델 파일을 읽을 수 없습니다: {path} / Cannot read detector file: {path}"
            ) from e
        if not isinstance(obj, Detector):
            raise ProcessError(f"검출기 파일이 아닙니다: {path} / Not a detector file: {path}")
        return obj
