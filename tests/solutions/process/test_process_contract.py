"""One contract for every detector (batch and online verbs, no input mutation, persistence)."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aion.solutions.process.detectors import (
    AutoDetector,
    ConvAutoencoderDetector,
    Detector,
    EWMADetector,
    IsolationForestDetector,
    PCADetector,
    RobustZDetector,
)
from aion.solutions.process.errors import NotFittedError, ProcessError

FACTORIES: dict[str, Callable[[], Detector]] = {
    "robust_z": RobustZDetector,
    "ewma": lambda: EWMADetector(alpha=0.2),
    "pca": PCADetector,
    "iforest": lambda: IsolationForestDetector(n_estimators=30),
    "conv_ae": lambda: ConvAutoencoderDetector(window=16, epochs=3, max_windows=256),
    "auto": lambda: AutoDetector(
        candidates=[RobustZDetector(), PCADetector(), IsolationForestDetector(n_estimators=20)], top_k=2
    ),
}


@pytest.fixture(params=list(FACTORIES), ids=list(FACTORIES))
def make(request: pytest.FixtureRequest) -> Callable[[], Detector]:
    return FACTORIES[request.param]


def test_never_modifies_input(make: Callable[[], Detector], series: np.ndarray) -> None:
    X = series.copy()
    X[5, 1] = np.nan
    before = X.copy()
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    df_before = df.copy()
    det = make().fit(X[:600])
    det.score(X)
    det.contributions(X[:50])
    make().fit(df.iloc[:600]).score(df)
    np.testing.assert_array_equal(X, before)
    pd.testing.assert_frame_equal(df, df_before)


def test_fit_then_score_shapes_and_sense(make: Callable[[], Detector], series: np.ndarray) -> None:
    det = make().fit(series[:600])
    s = det.score(series)
    assert s.shape == (len(series),)
    assert np.all(np.isfinite(s))
    bad = series.copy()
    bad[900:940, 2] += 6.0
    sb = det.score(bad)
    assert np.median(sb[910:940]) > np.quantile(s[:600], 0.95)
    c = det.contributions(bad[900:940])
    assert c.shape == (40, 4)
    np.testing.assert_allclose(c.sum(axis=1), 1.0, atol=1e-6)
    assert np.argmax(c.mean(axis=0)) == 2


def test_handles_missing_values(make: Callable[[], Detector], series: np.ndarray) -> None:
    X = series.copy()
    X[::7, 0] = np.nan
    s = make().fit(X[:600]).score(X)
    assert np.all(np.isfinite(s))


def test_clone_and_params(make: Callable[[], Detector], series: np.ndarray) -> None:
    det = make()
    twin = det.clone()
    assert type(twin) is type(det)
    assert repr(twin) == repr(det)
    assert not twin.is_fitted
    with pytest.raises(NotFittedError):
        twin.score(series)
    a = det.fit(series[:600]).score(series)
    b = twin.fit(series[:600]).score(series)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_save_load_round_trip(make: Callable[[], Detector], series: np.ndarray, tmp_path: Path) -> None:
    det = make().fit(series[:600])
    path = tmp_path / "det.pkl"
    det.save(path)
    loaded = Detector.load(path)
    np.testing.assert_array_equal(det.score(series), loaded.score(series))
    assert loaded.get_params().keys() == det.get_params().keys()


def test_wrong_width_is_a_clear_error(make: Callable[[], Detector], series: np.ndarray) -> None:
    det = make().fit(series[:600])
    with pytest.raises(ProcessError, match="sensors"):
        det.score(series[:, :2])


def test_online_learn_and_score(make: Callable[[], Detector], series: np.ndarray) -> None:
    det = make()
    names = ["a", "b", "c", "d"]
    assert det.score_one(dict(zip(names, series[0], strict=True))) == 0.0
    for row in series[:512]:
        det.learn_one(dict(zip(names, row.tolist(), strict=True)))
    assert det.is_fitted and det.feature_names_ == names
    normal = det.score_one(dict(zip(names, series[600].tolist(), strict=True)))
    assert np.isfinite(normal)
    # score_many gives the same as repeated score_one from the same state
    seq = copy.deepcopy(det)
    many = det.score_many(series[600:640])
    one = [seq.score_one(dict(zip(names, r.tolist(), strict=True))) for r in series[600:640]]
    np.testing.assert_allclose(many, one, rtol=1e-5, atol=1e-6)
    pickle.dumps(det)  # online state stays picklable


def test_online_readings_with_gaps(make: Callable[[], Detector], series: np.ndarray) -> None:
    """Missing keys, None and NaN are no evidence; the fast paths agree with the general one."""
    names = ["a", "b", "c", "d"]
    det = make().fit(series[:600], feature_names=names)
    twin = copy.deepcopy(det)
    row = series[700].tolist()
    full = det.score_one(dict(zip(names, row, strict=True)))
    assert full == pytest.approx(twin.score_values(row), rel=1e-6, abs=1e-9)
    for gap in ({"a": row[0], "b": row[1], "d": row[3]}, {"a": row[0], "b": row[1], "c": None, "d": row[3]}):
        assert np.isfinite(det.score_one(gap))  # type: ignore[arg-type]
    nan_row = dict(zip(names, row, strict=True)) | {"c": float("nan")}
    assert np.isfinite(det.score_one(nan_row))


def test_fused_online_pair_matches_batch(series: np.ndarray) -> None:
    names = ["a", "b", "c", "d"]
    det = AutoDetector(candidates=[RobustZDetector(), EWMADetector()], top_k=2).fit(series[:600], names)
    seq = copy.deepcopy(det)
    rows = series[600:660].copy()
    rows[10, 2] = np.nan
    one = [det.score_one(dict(zip(names, r.tolist(), strict=True))) for r in rows]
    assert det.__dict__.get("_fused_") is not None  # the one-pass kernel served these
    np.testing.assert_allclose(one, seq.score_many(rows), rtol=1e-9, atol=1e-12)
