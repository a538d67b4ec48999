"""Isolation forest on robustly scaled sensors (scikit-learn)."""

from __future__ import annotations

import numpy as np

from aion.solutions.process.detectors.base import Detector


class IsolationForestDetector(Detector):
    """Isolation forest; score = ``-score_samples`` (about 0.5 for normal rows, toward 1 for outliers)."""

    name = "isolation_forest"

    def __init__(self, n_estimators: int = 100, max_samples: int = 256, seed: int = 0) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.seed = seed

    def _fit(self, X: np.ndarray) -> None:
        from sklearn.ensemble import IsolationForest  # scikit-learn takes a second to import

        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=min(self.max_samples, X.shape[0]),
            random_state=self.seed,
            n_jobs=1,
        ).fit((X - self.center_) / self.scale_)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return -self.forest_.score_samples((X - self.center_) / self.scale_)
