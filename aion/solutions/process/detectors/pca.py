"""Multivariate statistical process control: PCA with Hotelling's T² and SPE (Q) control limits."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aion.solutions.process.detectors.base import Detector, as_matrix, impute

_NAN = float("nan")


class PCADetector(Detector):
    """Hotelling T² in the principal subspace and SPE/Q in the residual subspace.

    Limits at confidence ``1 - alpha``: T² from the F distribution, Q from Jackson and Mudholkar.
    The score is ``sqrt(max(T²/T²_lim, Q/Q_lim))`` (``statistic="both"``) so 1.0 is the control
    limit. The square root puts it in amplitude units like the other detectors' z-scores (T² and Q
    are sums of squares): a margin or an ensemble average then means the same for every detector.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 4)); X[:, 1] = X[:, 0] + 0.1 * X[:, 1]
    >>> d = PCADetector().fit(X)
    >>> bool(d.score([[2.0, -2.0, 0.0, 0.0]])[0] > 1.0)  # correlation broken: over the Q limit
    True
    """

    name = "pca_t2_q"

    def __init__(self, variance: float = 0.9, alpha: float = 0.01, statistic: str = "both") -> None:
        self.variance = variance
        self.alpha = alpha
        self.statistic = statistic

    def _fit(self, X: np.ndarray) -> None:
        from scipy import special  # imported when needed: scipy takes a while to import

        if self.statistic not in ("both", "t2", "spe"):
            from aion.solutions.process.errors import ProcessError

            raise ProcessError(
                f"statistic={self.statistic!r}: 'both', 't2', 'spe' 중 하나 / one of both, t2, spe"
            )
        self.__dict__.pop("_online_", None)
        n, d = X.shape
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.std_ = np.where(std > 1e-9, std, 1.0) * self.widening_
        Z = (X - self.mean_) / self.std_
        _, s, vt = np.linalg.svd(Z, full_matrices=False)
        eig = s**2 / max(n - 1, 1)
        ratio = np.cumsum(eig) / max(eig.sum(), 1e-12)
        k = int(np.searchsorted(ratio, self.variance) + 1)
        k = max(1, min(k, d - 1)) if d > 1 else 1
        self.n_components_ = k
        self.components_ = vt[:k].T  # (d, k)
        self.eigenvalues_ = np.maximum(eig[:k], 1e-9)
        q = 1.0 - self.alpha
        if n > k:
            self.t2_limit_ = float(k * (n - 1) * (n + 1) / (n * (n - k)) * special.fdtri(k, n - k, q))
        else:
            self.t2_limit_ = float(special.chdtri(k, 1.0 - q))
        rest = eig[k:]
        th1, th2, th3 = (float(np.sum(rest**i)) for i in (1, 2, 3))
        if th1 > 1e-12 and th2 > 1e-12:
            h0 = 1.0 - 2.0 * th1 * th3 / (3.0 * th2**2)
            h0 = h0 if abs(h0) > 1e-6 else 1e-6
            ca = special.ndtri(q)
            base = ca * np.sqrt(2 * th2 * h0**2) / th1 + 1 + th2 * h0 * (h0 - 1) / th1**2
            self.q_limit_ = float(th1 * max(base, 1e-6) ** (1.0 / h0))
        else:
            self.q_limit_ = 1e-6
        # empirical guard: the limit is never below the training quantile itself
        t2, spe = self._stats(X)
        self.t2_limit_ = max(self.t2_limit_, float(np.quantile(t2, q)), 1e-9)
        self.q_limit_ = max(self.q_limit_, float(np.quantile(spe, q)), 1e-9)
        self._p_ = self.components_ / np.sqrt(self.eigenvalues_)

    def _stats(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Z = (X - self.mean_) / self.std_
        T = Z @ self.components_
        t2 = np.sum(T**2 / self.eigenvalues_, axis=1)
        R = Z - T @ self.components_.T
        return t2, np.sum(R**2, axis=1)

    def t2_spe(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw Hotelling T² and SPE (Q) per row, for charts with their own limits."""
        self._check_fitted()
        return self._stats(impute(as_matrix(X), self.center_))

    def _score(self, X: np.ndarray) -> np.ndarray:
        t2, spe = self._stats(X)
        a, b = t2 / self.t2_limit_, spe / self.q_limit_
        if self.statistic == "t2":
            r = a
        elif self.statistic == "spe":
            r = b
        else:
            r = np.maximum(a, b)
        return np.sqrt(r)

    def contributions(self, X: np.ndarray) -> np.ndarray:  # type: ignore[override]
        """Residual (SPE) contributions blended with T² contributions, per sensor."""
        self._check_fitted()
        Z = (impute(as_matrix(X), self.center_) - self.mean_) / self.std_
        T = Z @ self.components_
        R = Z - T @ self.components_.T
        c_t2 = np.abs(Z * ((T / self.eigenvalues_) @ self.components_.T))
        c = R**2 / self.q_limit_ + c_t2 / self.t2_limit_
        return c / np.maximum(c.sum(axis=1, keepdims=True), 1e-12)

    def score_one(self, x: dict[str, float]) -> float:
        if not self.is_fitted:
            return 0.0
        vals = [x.get(k, _NAN) for k in self.feature_names_]
        return self.score_values([_NAN if v is None else v for v in vals])

    def score_values(self, values: list[float]) -> float:
        """One reading in plain Python (no numpy call per reading): standardise, project on the
        principal axes, and take SPE = |z|² - |t|² (the axes are orthonormal)."""
        if not self.is_fitted:
            return 0.0
        fast = self.__dict__.get("_online_")
        if fast is None:
            fast = self._online()
        fill, mean, inv, cols, inv_eig, t2_lim, q_lim = fast
        z = [((v if v == v else f) - m) * s for v, f, m, s in zip(values, fill, mean, inv, strict=False)]
        zz = 0.0
        for zi in z:
            zz += zi * zi
        t2 = tt = 0.0
        for col, ie in zip(cols, inv_eig, strict=True):
            t = 0.0
            for zi, c in zip(z, col, strict=False):
                t += zi * c
            tt += t * t
            t2 += t * t * ie
        a, b = t2 / t2_lim, max(zz - tt, 0.0) / q_lim
        r = a if self.statistic == "t2" else b if self.statistic == "spe" else max(a, b)
        return math.sqrt(r)

    def _online(self) -> tuple[Any, ...]:
        fast = (
            self.center_.tolist(),
            self.mean_.tolist(),
            (1.0 / self.std_).tolist(),
            self.components_.T.tolist(),
            (1.0 / self.eigenvalues_).tolist(),
            self.t2_limit_,
            self.q_limit_,
        )
        self._online_ = fast
        return fast
