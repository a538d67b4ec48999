"""Failure classification on tabular machine data (AI4I 2020 layout, or any table with a 0/1 target).

Identifier-like columns (unique per row) and the failure-mode columns that would leak the answer
are dropped; text columns are one-hot encoded; a gradient-boosted classifier with balanced class
weights predicts the failure, and its decision threshold maximises F1 on an internal validation
split of the training rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aion.solutions.process.errors import NotFittedError, ProcessError

AI4I_LEAKS = ("TWF", "HDF", "PWF", "OSF", "RNF")


@dataclass
class FailureResult:
    f1: float
    precision: float
    recall: float
    roc_auc: float
    test_rows: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FailureClassifier:
    """Predicts whether a machine row is a failure; ``fit(df, target)``, ``predict_proba(df)``."""

    def __init__(self, drop: tuple[str, ...] = AI4I_LEAKS, max_iter: int = 300, seed: int = 0) -> None:
        self.drop = drop
        self.max_iter = max_iter
        self.seed = seed

    def _features(self, df: pd.DataFrame) -> pd.DataFrame:
        X = df.drop(columns=[c for c in df.columns if c in self.drop or c == self.target_], errors="ignore")
        X = X.drop(columns=[c for c in X.columns if c in self.id_columns_], errors="ignore")
        X = pd.get_dummies(X, columns=[c for c in X.columns if c in self.text_columns_], dtype=np.float64)
        return X.reindex(columns=self.columns_, fill_value=0.0) if hasattr(self, "columns_") else X

    def fit(self, df: pd.DataFrame, target: str) -> FailureClassifier:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.model_selection import train_test_split

        if target not in df.columns:
            raise ProcessError(f"목표 열이 없습니다: {target!r} / Target column not found: {target!r}")
        self.target_ = target
        rest = df.drop(columns=[target])
        self.id_columns_ = [c for c in rest.columns if len(rest) > 20 and _is_identifier(rest[c])]
        self.text_columns_ = [
            c
            for c in rest.columns
            if c not in self.id_columns_ and not pd.api.types.is_numeric_dtype(rest[c])
        ]
        X = self._features(df)
        self.columns_ = list(X.columns)
        y = df[target].to_numpy(dtype=np.int64)
        Xa, Xv, ya, yv = train_test_split(X.to_numpy(), y, test_size=0.2, stratify=y, random_state=self.seed)

        def model() -> Any:
            return HistGradientBoostingClassifier(
                max_iter=self.max_iter, learning_rate=0.05, class_weight="balanced", random_state=self.seed
            )

        pv = model().fit(Xa, ya).predict_proba(Xv)[:, 1]
        grid = np.linspace(0.05, 0.95, 91)
        f1s = [_f1(yv, pv >= g) for g in grid]
        self.threshold_ = float(grid[int(np.argmax(f1s))])
        self.model_ = model().fit(X.to_numpy(), y)
        return self

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise NotFittedError("FailureClassifier: fit() 먼저 / call fit() first")
        return self.model_.predict_proba(self._features(df).to_numpy())[:, 1]

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(df) >= self.threshold_).astype(np.int64)


def _is_identifier(col: pd.Series) -> bool:
    """Unique per row and either text or an increasing integer (a row number, a serial)."""
    if col.nunique() != len(col):
        return False
    if not pd.api.types.is_numeric_dtype(col):
        return True
    return bool(pd.api.types.is_integer_dtype(col) and col.is_monotonic_increasing)


def _f1(y: np.ndarray, p: np.ndarray) -> float:
    tp = float(np.sum((y == 1) & p))
    fp = float(np.sum((y == 0) & p))
    fn = float(np.sum((y == 1) & ~p))
    return tp / (tp + (fp + fn) / 2) if tp else 0.0


def evaluate_ai4i(path: str | Path, target: str = "Machine failure", seed: int = 0) -> FailureResult:
    """Stratified 80/20 split of the AI4I table: F1, precision, recall and ROC AUC on the 20%."""
    from sklearn.metrics import precision_score, recall_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    df = pd.read_csv(path)
    tr, te = train_test_split(df, test_size=0.2, stratify=df[target], random_state=seed)
    clf = FailureClassifier(seed=seed).fit(tr, target)
    proba = clf.predict_proba(te)
    pred = (proba >= clf.threshold_).astype(np.int64)
    y = te[target].to_numpy(dtype=np.int64)
    return FailureResult(
        round(_f1(y, pred == 1), 4),
        round(float(precision_score(y, pred, zero_division=0)), 4),
        round(float(recall_score(y, pred, zero_division=0)), 4),
        round(float(roc_auc_score(y, proba)), 4),
        len(te),
    )
