"""Generated sensor series for the process tests (never the benchmark data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def make_series(n: int = 1200, d: int = 4, seed: int = 0) -> np.ndarray:
    """Correlated sines plus noise: sensor j = sin(t / period_j) (+ shared component)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = np.sin(t / 12.0)
    cols = [np.sin(t / (8.0 + 3 * j)) + 0.5 * base + 0.1 * rng.normal(size=n) for j in range(d)]
    return np.stack(cols, axis=1)


@pytest.fixture
def series() -> np.ndarray:
    return make_series()


@pytest.fixture
def faulty() -> tuple[np.ndarray, dict[str, tuple[int, int, int]]]:
    """Normal for 600 rows, then a spike, a drift and a stuck sensor (rows, sensor)."""
    X = make_series()
    X[700:720, 1] += 4.0  # spike burst on sensor 1
    X[850:1000, 2] += np.linspace(0, 4.0, 150)  # drift on sensor 2
    X[1050:1150, 3] = X[1050, 3] + 2.5  # stuck (at an abnormal value) on sensor 3
    X[100:105, 0] = np.nan  # missing values in the normal period
    return X, {"spike": (700, 720, 1), "drift": (900, 1000, 2), "stuck": (1050, 1150, 3)}


def frame_df(X: np.ndarray) -> pd.DataFrame:
    ts = pd.date_range("2024-01-01", periods=len(X), freq="s")
    return pd.DataFrame(X, columns=[f"s{j}" for j in range(X.shape[1])], index=ts)
