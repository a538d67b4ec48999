"""Per-sensor robust statistics: median/MAD z-scores and EWMA control charts."""

from __future__ import annotations

import math

import numpy as np

from aion.solutions.process.detectors.base import Detector


class RobustZDetector(Detector):
    """Largest robust z-score over sensors: ``max_j |x_j - median_j| / (1.4826 MAD_j)``.

    >>> import numpy as np
    >>> d = RobustZDetector().fit(np.random.default_rng(0).normal(size=(200, 3)))
    >>> bool(d.score([[0.0, 0.0, 9.0]])[0] > d.score([[0.0, 0.0, 0.0]])[0])
    True
    """

    name = "robust_z"

    def __init__(self) -> None:
        pass

    def _fit(self, X: np.ndarray) -> None:
        self.inv_scale_ = 1.0 / self.scale_
        self._fast_ = list(
            zip(self.feature_names_, self.center_.tolist(), self.inv_scale_.tolist(), strict=True)
        )
        self._centers_, self._inv_ = self.center_.tolist(), self.inv_scale_.tolist()

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.max(np.abs(X - self.center_) * self.inv_scale_, axis=1)

    def score_one(self, x: dict[str, float]) -> float:
        if not self.is_fitted:
            return 0.0
        best = 0.0
        try:
            for k, c, s in self._fast_:
                d = abs((x[k] - c) * s)
                if d > best:  # a NaN reading compares False: no evidence
                    best = d
        except (KeyError, TypeError):  # a sensor missing (or None) in this reading
            return self._score_sparse(x)
        return best

    def _score_sparse(self, x: dict[str, float]) -> float:
        best = 0.0
        for k, c, s in self._fast_:
            v = x.get(k)
            if v is None:
                continue
            d = abs((v - c) * s)
            if d > best:
                best = d
        return best

    def score_values(self, values: list[float]) -> float:
        if not self.is_fitted:
            return 0.0
        best = 0.0
        for v, c, s in zip(values, self._centers_, self._inv_, strict=False):
            d = abs((v - c) * s)
            if d > best:
                best = d
        return best


class EWMADetector(Detector):
    """EWMA control chart per sensor on standardised values; score = largest |EWMA| in sigma units.

    ``alpha`` is the smoothing weight of the newest reading (small = slow, sensitive to drifts).
    ``score(X)`` starts from the in-control state; ``score_one`` carries its state between calls.
    """

    name = "ewma"

    def __init__(self, alpha: float = 0.1) -> None:
        self.alpha = alpha

    def _fit(self, X: np.ndarray) -> None:
        self.inv_scale_ = 1.0 / self.scale_
        self.sigma_factor_ = 1.0 / math.sqrt(self.alpha / (2.0 - self.alpha))
        self.state_ = np.zeros(X.shape[1])
        self._fast_ = list(
            zip(self.feature_names_, self.center_.tolist(), self.inv_scale_.tolist(), strict=True)
        )
        self._state_list_ = [0.0] * X.shape[1]
        self._centers_, self._inv_ = self.center_.tolist(), self.inv_scale_.tolist()

    def _run(self, X: np.ndarray, state: np.ndarray) -> np.ndarray:
        from scipy.signal import lfilter  # imported when needed: scipy.signal takes 1.5 s

        z = (X - self.center_) * self.inv_scale_
        a = self.alpha
        out, _ = lfilter([a], [1.0, -(1.0 - a)], z, axis=0, zi=((1.0 - a) * state)[None, :])
        return np.asarray(out)

    def _score(self, X: np.ndarray) -> np.ndarray:
        e = self._run(X, np.zeros(X.shape[1]))
        return np.max(np.abs(e), axis=1) * self.sigma_factor_

    def contributions(self, X: np.ndarray) -> np.ndarray:  # type: ignore[override]
        from aion.solutions.process.detectors.base import as_matrix, impute

        e2 = self._run(impute(as_matrix(X), self.center_), np.zeros(len(self.center_))) ** 2
        return e2 / np.maximum(e2.sum(axis=1, keepdims=True), 1e-12)

    def score_one(self, x: dict[str, float]) -> float:
        if not self.is_fitted:
            return 0.0
        a, b = self.alpha, 1.0 - self.alpha
        st = self._state_list_
        best = 0.0
        for i, (k, c, s) in enumerate(self._fast_):
            v = x.get(k)
            z = 0.0 if v is None or v != v else (v - c) * s
            e = b * st[i] + a * z
            st[i] = e
            if e < 0:
                e = -e
            if e > best:
                best = e
        return best * self.sigma_factor_

    def score_values(self, values: list[float]) -> float:
        if not self.is_fitted:
            return 0.0
        a, b = self.alpha, 1.0 - self.alpha
        st = self._state_list_
        best = 0.0
        for i, (v, c, s) in enumerate(zip(values, self._centers_, self._inv_, strict=False)):
            e = b * st[i] + (a * (v - c) * s if v == v else 0.0)
            st[i] = e
            if e < 0:
                e = -e
            if e > best:
                best = e
        return best * self.sigma_factor_

    def score_many(self, X: np.ndarray) -> np.ndarray:  # type: ignore[override]
        from aion.solutions.process.detectors.base import as_matrix, impute

        self._check_fitted()
        arr = impute(as_matrix(X), self.center_)
        e = self._run(arr, np.array(self._state_list_))
        self._state_list_ = e[-1].tolist()
        return np.max(np.abs(e), axis=1) * self.sigma_factor_
