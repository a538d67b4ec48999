"""Stored scores: the false-alarm slider recalibrates like the model does, labelled events included."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aion.process.engine import StoredScores, score_and_store
from aion.solutions.process.frame import SensorFrame
from aion.solutions.process.model import train


def test_slider_on_stored_scores_keeps_labelled_events(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    t = np.arange(1600)
    X = np.column_stack([np.sin(t / (9.0 + 4 * j)) + 0.1 * rng.normal(size=len(t)) for j in range(3)])
    X[700:800, 1] += 1.5
    frame = SensorFrame(X, ["a", "b", "c"])
    events = np.zeros(len(t))
    events[700:800] = 1
    model = train(frame, (0, 600), events=events)
    stored = score_and_store(model, frame)
    stored.save(tmp_path / "s.npz")
    back = StoredScores.load(tmp_path / "s.npz")
    assert back.event_scores is not None and len(back.event_scores) == 100
    for far in (0.005, 0.02):
        policy, _, mask = back.alarms(far)
        expected = model.with_target_far(far)
        assert policy.threshold == expected.policy.threshold
        np.testing.assert_array_equal(mask, expected.score(frame, explain=False).alarm_mask)
    plain = train(frame, (0, 600))
    assert back.alarms(0.005)[0].threshold < plain.with_target_far(0.005).policy.threshold  # type: ignore[operator]
