"""Stuck (flat-lined) sensors: found even at ordinary values, never confused with quantised or missing data."""

from __future__ import annotations

import numpy as np
import pytest

from aion.solutions.process.alarms import AlarmPolicy
from aion.solutions.process.detectors.flatline import FlatlineGuard
from aion.solutions.process.errors import NotFittedError, ProcessError
from aion.solutions.process.frame import SensorFrame
from aion.solutions.process.model import TrainConfig, train

from .conftest import frame_df, make_series


def test_frozen_at_an_ordinary_value_is_found_and_named() -> None:
    X = make_series(n=1200, d=4)
    X[900:1000, 2] = float(np.median(X[:600, 2]))  # frozen right at the median: values look normal
    g = FlatlineGuard(window=10).fit(X[:600])
    s = g.score(X)
    assert s[915:1000].min() > 1.5 and s[:600].max() < 1.0 / 1.5
    assert np.argmax(g.contributions(X[920:990]).mean(axis=0)) == 2
    assert g.variation_ratio(X)[950, 2] < 0.01 < g.variation_ratio(X)[950, 1]
    frame = SensorFrame.from_dataframe(frame_df(X))
    res = train(frame, (0, 600), TrainConfig(detector="robust_z")).score(frame)
    hit = [a for a in res.alarms if a.start < 1000 and a.end > 900]
    assert hit and hit[0].contributions[0]["sensor"] == "s2"
    assert hit[0].contributions[0]["direction"] == "flat" and "stuck" in hit[0].message_en
    assert res.alarm_mask[:600].sum() == 0


def test_often_flat_sensors_and_missing_values_raise_nothing() -> None:
    rng = np.random.default_rng(1)
    n = 1500
    quantised = np.round(rng.normal(size=n) * 0.4)  # mostly 0: windows are often exactly flat
    X = np.column_stack([rng.normal(size=n), quantised])
    X[700:760, 1] = 0.0  # flat again: normal for this sensor
    X[1000:1100, 0] = np.nan  # sensor 0 offline: no evidence, not "stuck"
    g = FlatlineGuard(window=10).fit(X[:600])
    assert g.sensor_scores(X)[:, 1].max() < 1.0  # its limit learned that flat windows are normal
    assert g.sensor_scores(X)[1005:1100, 0].max() == 0.0
    X[1200:1300, 0] = 0.25
    assert g.sensor_scores(X)[1220:1300, 0].min() > 1.0  # the other sensor is still watched
    constant = np.column_stack([rng.normal(size=200), np.full(200, 3.0)])
    g2 = FlatlineGuard().fit(constant)
    assert not g2.active_[1] and g2.score(constant).max() < 1.0


def test_guard_errors_are_clear() -> None:
    with pytest.raises(ProcessError, match="at least 3"):
        FlatlineGuard(window=2)
    with pytest.raises(NotFittedError):
        FlatlineGuard().score(np.zeros((30, 2)))
    with pytest.raises(ProcessError, match="Too few rows"):
        FlatlineGuard(window=10).fit(np.zeros((5, 2)))


def test_alarm_clears_once_back_within_normal_scores() -> None:
    rng = np.random.default_rng(0)
    normal = 5.0 + rng.normal(size=4000) * 0.2  # scores with a large offset (median 5)
    p = AlarmPolicy(target_far=0.01, smooth=1, hysteresis=0.5, min_duration=1, margin=2.0).calibrate(normal)
    assert p.threshold is not None and normal.max() < p.clear_level + 0.5 < p.threshold + 0.5
    s = np.r_[normal[:100], np.full(20, 9.0), 5.0 + rng.normal(size=100) * 0.2]
    alarms = p.alarms(s)
    assert len(alarms) == 1 and alarms[0].start == 100 and alarms[0].end <= 125
