"""Scoring: every reading gets an anomaly score from its machine's model, or from the rules.

A model plugs in through the :class:`Scorer` protocol (the process and inspection solutions
provide theirs); :class:`RulesScorer` is the built-in fallback: 0 inside a tag's limits,
growing with the distance outside them in units of the limit span.

>>> from aion.line.config import TagConfig
>>> s = RulesScorer({"m.t": TagConfig("m.t", low=0.0, high=10.0)})
>>> s.score_batch([Reading("m.t", 0, 5.0), Reading("m.t", 0, 15.0), Reading("m.x", 0, 1e9)])
[0.0, 0.5, 0.0]
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from aion.line.config import TagConfig
from aion.line.model import Reading

log = logging.getLogger("aion.line")
#: Models deployed to the line's machines from the registry, in the line's folder.
DEPLOYED = Path("models") / "deployed.json"


@runtime_checkable
class Scorer(Protocol):
    """Anything that scores a batch of readings: one float per reading, higher is more anomalous."""

    def score_batch(self, readings: Sequence[Reading]) -> list[float]: ...


@runtime_checkable
class ImageScorer(Protocol):
    """The inspection model's entry point: one score per image path."""

    def score_images(self, paths: Sequence[str]) -> list[float]: ...


class RulesScorer:
    """Distance outside ``[low, high]`` divided by the span (or by the limit when only one is set)."""

    def __init__(self, tags: Mapping[str, TagConfig]) -> None:
        self.tags = dict(tags)
        self.limits_: dict[str, tuple[float | None, float | None, float]] = {}
        for name, t in self.tags.items():
            if t.low is None and t.high is None:
                continue
            if t.low is not None and t.high is not None and t.high > t.low:
                span = t.high - t.low
            else:
                span = abs(t.high if t.high is not None else t.low or 0.0) or 1.0
            self.limits_[name] = (t.low, t.high, span)

    def score_batch(self, readings: Sequence[Reading]) -> list[float]:
        out = []
        limits = self.limits_
        for r in readings:
            lim = limits.get(r.tag)
            if lim is None:
                out.append(0.0)
                continue
            lo, hi, span = lim
            if hi is not None and r.value > hi:
                out.append((r.value - hi) / span)
            elif lo is not None and r.value < lo:
                out.append((lo - r.value) / span)
            else:
                out.append(0.0)
        return out


class MachineScorer:
    """Routes each reading to its machine's scorer (by tag prefix), else to ``default``."""

    def __init__(self, default: Scorer, by_machine: Mapping[str, Scorer] | None = None) -> None:
        self.default = default
        self.by_machine = dict(by_machine or {})

    def score_batch(self, readings: Sequence[Reading]) -> list[float]:
        if not self.by_machine:
            return self.default.score_batch(readings)
        groups: dict[int, tuple[Scorer, list[int]]] = {}
        for i, r in enumerate(readings):
            scorer = self.by_machine.get(r.tag.partition(".")[0], self.default)
            groups.setdefault(id(scorer), (scorer, []))[1].append(i)
        out = [0.0] * len(readings)
        for scorer, idx in groups.values():
            for i, s in zip(idx, scorer.score_batch([readings[i] for i in idx]), strict=True):
                out[i] = float(s)
        return out


def file_stamp(path: Path) -> tuple[int, int] | None:
    """When and how large a file was written, ``(mtime_ns, size)`` (``None``: not there): what
    the line compares to see a model file or a deployment replaced."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def deployed_stamp(folder: Path) -> tuple[int, int] | None:
    """The :func:`file_stamp` of the line folder's ``deployed.json``: what the line's scorers
    compare to see a new deployment."""
    return file_stamp(folder / DEPLOYED)


def load_deployed(folder: Path, fallback: Scorer) -> dict[str, Scorer]:
    """Machine name -> scorer of the model deployed to it (``models/deployed.json`` in the line's folder)."""
    try:
        doc = json.loads((folder / DEPLOYED).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    out: dict[str, Scorer] = {}
    for machine, entry in (doc.get("machines") or {}).items():
        if entry.get("kind") == "inspection":  # scores the machine's camera photos (station.py)
            continue
        from aion.platform.linescoring import load_scorer  # models load only when some are deployed

        out[machine] = load_scorer(folder / DEPLOYED.parent, machine, entry, fallback)
    return out


class DeployedScorer(MachineScorer):
    """A :class:`MachineScorer` whose machine models follow the deployments in the line's folder.

    The file is checked every ``check_s`` seconds, so a model deployed from the registry scores
    the machine's next readings without restarting the line; a deployment that cannot load is
    logged and the models in use are kept. ``on_change(any_deployed)`` is told of each change.
    """

    def __init__(
        self,
        default: Scorer,
        folder: Path,
        fixed: Mapping[str, Scorer] | None = None,
        check_s: float = 1.0,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        super().__init__(default, fixed)
        self.folder = folder
        self.fixed = dict(fixed or {})
        self.check_s = check_s
        self.on_change = on_change
        self.stamp_: tuple[int, int] | None = None
        self.next_check_ = 0.0
        self.refresh()

    def refresh(self) -> None:
        stamp = deployed_stamp(self.folder)
        if stamp == self.stamp_:
            return
        try:
            deployed = load_deployed(self.folder, self.default)
        except Exception:  # a bad deployment must not stop the line: keep scoring with what we have
            log.exception("deployed models of %s could not be loaded", self.folder)
            return
        self.stamp_ = stamp
        self.by_machine = {**deployed, **self.fixed}
        log.info("line models: %s", {m: type(s).__name__ for m, s in self.by_machine.items()})
        if self.on_change is not None:
            self.on_change(bool(self.by_machine))

    def score_batch(self, readings: Sequence[Reading]) -> list[float]:
        now = time.monotonic()
        if now >= self.next_check_:
            self.next_check_ = now + self.check_s
            self.refresh()
        return super().score_batch(readings)
