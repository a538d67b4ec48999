"""A process model from the registry as a line :class:`~aion.line.scoring.Scorer` for one machine.

The model was trained on a table whose columns are the machine's sensors; on the line they are
the tags ``<machine>.<column>``. The readings of one timestamp update the machine's current row
(the latest value of every sensor); once every sensor has been seen (and after a warm-up of the model's
window length in rows, scored 0), the row is scored with the rows before it (the model's input smoothing looks back ``history`` rows; a centred window
sees only the past here), and the reading gets the row's score divided by the model's alarm
threshold: 1.0 is the model's own alarm limit. Other tags of the machine keep the rules scorer.

>>> import numpy as np
>>> from aion.line.model import Reading
>>> from aion.line.scoring import RulesScorer
>>> class Model:  # anything with columns, policy.threshold and raw_scores(frame)
...     columns = ["t", "p"]
...     class policy:
...         threshold = 2.0
...     def raw_scores(self, frame):
...         return np.abs(frame.values).sum(axis=1)
>>> s = ProcessLineScorer(Model(), "press", RulesScorer({}))
>>> s.score_batch([Reading("press.t", 0, 1.0), Reading("press.p", 0, 3.0), Reading("press.x", 0, 9.0)])
[2.0, 2.0, 0.0]
>>> s.score_batch([Reading("press.t", 1, 5.0)])  # the row goes on with the last pressure
[4.0]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aion.line.model import Reading
from aion.line.scoring import Scorer
from aion.platform.errors import PlatformError
from aion.platform.storage.blobstore import hash_file

HISTORY = 64


class ProcessLineScorer:
    """Scores one machine's readings with a trained process model (see the module text)."""

    def __init__(self, model: Any, machine: str, fallback: Scorer, history: int = HISTORY) -> None:
        self.model = model
        self.machine = machine
        self.fallback = fallback
        self.columns = list(model.columns)
        self.index = {f"{machine}.{c}": j for j, c in enumerate(self.columns)}
        self.threshold = float(model.policy.threshold or 1.0) or 1.0
        self.current = np.full(len(self.columns), np.nan)
        config = getattr(model, "config", None)
        windows = [getattr(config, k, 0) for k in ("input_smooth", "flatline_window")]
        self.warmup = max(0, *windows)
        self.history: deque[np.ndarray] = deque(maxlen=max(history, self.warmup, 1))
        self.rows_seen = 0

    def score_batch(self, readings: Sequence[Reading]) -> list[float]:
        from aion.solutions.process.frame import SensorFrame

        out = [0.0] * len(readings)
        groups: dict[float, list[tuple[int, int]]] = {}  # one row per timestamp, in arrival order
        others: list[int] = []
        for i, r in enumerate(readings):
            j = self.index.get(r.tag)
            if j is None:
                others.append(i)
            else:
                groups.setdefault(r.ts, []).append((i, j))
        rows: list[np.ndarray] = []
        at: list[list[int]] = []
        for group in groups.values():
            for i, j in group:
                self.current[j] = readings[i].value
            if not np.isnan(self.current).any():  # 0 until every sensor was seen once
                rows.append(self.current.copy())
                at.append([i for i, _ in group])
        if rows:
            past = list(self.history)
            scores = self.model.raw_scores(SensorFrame(np.vstack(past + rows), list(self.columns)))
            for k, (idx, score) in enumerate(zip(at, scores[len(past) :], strict=True)):
                if self.rows_seen + k >= self.warmup:  # the model's windows need a few rows first
                    for i in idx:
                        out[i] = float(score) / self.threshold
            self.history.extend(rows)
            self.rows_seen += len(rows)
        if others:
            for i, score in zip(
                others, self.fallback.score_batch([readings[i] for i in others]), strict=True
            ):
                out[i] = float(score)
        return out


def load_scorer(models_dir: Path, machine: str, entry: dict[str, Any], fallback: Scorer) -> Scorer:
    """The scorer of one ``deployed.json`` entry; the model file is checked against its hash."""
    if entry.get("kind") != "process":
        raise PlatformError("Only process and inspection models can be deployed to a line machine.")
    path = models_dir / Path(str(entry["file"])).name
    if hash_file(path) != entry.get("sha256"):
        raise PlatformError("The deployed model file is damaged: {file}", file=str(path))
    from aion.solutions.process.model import ProcessModel

    return ProcessLineScorer(ProcessModel.load(path), machine, fallback)
