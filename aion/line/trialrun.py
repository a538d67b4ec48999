"""A model on trial at the inspection station: a registry version put beside a camera's model
(``trials`` in the line folder's ``models/deployed.json``) scores the same photos, and nothing
is done with its calls: no reading, alarm, reject signal or heat map. What it said is written,
photo by photo, to ``<line folder>/trials/<machine>.jsonl`` (:class:`TrialCall`), and its times
on the line PC to ``trial_speed.json``; the photos page reads both (``trial.py``) to show where
it would have judged otherwise than the station and than people, and how fast the PC runs it.

The trial must not slow the line: the station hands each batch of photos to a thread of its own
through a bounded queue and goes on, and the trial's model runs on one thread
(:data:`TRIAL_THREADS`), leaving the PC's other cores to the station's. When the PC cannot keep up
with both models, the photos the queue has no room for are recorded as not scored
(``why: "busy"``), never waited for.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from aion.line.stationspeed import SpeedMeter

log = logging.getLogger(__name__)

#: Where a line's trial records go, one file per machine, in the line's folder.
TRIALS_DIR = "trials"
#: The models on trial's times on the line PC, in the line's folder.
TRIAL_SPEED_FILE = "trial_speed.json"
#: ONNX Runtime threads of a model on trial: one, so that the station's model keeps the PC's others.
TRIAL_THREADS = 1
#: Batches of photos waiting for the trial model; more are recorded as not scored.
QUEUE = 64
#: A model's normalised score from which a part is NG (0.5 at its own threshold).
NG_FROM = 0.5
#: Records kept per machine: past this many the file keeps its newest half.
MAX_RECORDS = 20_000


class TrialModel(NamedTuple):
    """The version on trial for one camera."""

    model: Any  # aion.solutions.inspection.InspectionModel
    machine: str  # whose readings the camera's photos are (``camera:``)
    label: str  # "name vN", as the station names a registry model
    version_id: int


class TrialCall(NamedTuple):
    """What the model on trial said of one photo."""

    ref: str  # the photo's path
    ts_us: int  # its modification time (the reading's time), microseconds
    station: float | None  # the station's score of it (None: no model in use on the camera)
    score: float | None  # the trial model's (0-1, NG from 0.5); None: not scored
    why: str  # why not scored: "busy" (the PC had no time), "unreadable"; "" when scored
    version_id: int
    at: float  # Unix time it was scored

    @property
    def ng(self) -> bool | None:
        return None if self.score is None else self.score >= NG_FROM


def trial_file(line_folder: Path, machine: str) -> Path:
    return line_folder / TRIALS_DIR / f"{machine}.jsonl"


def _stamp_us(path: str) -> int:
    try:
        return round(Path(path).stat().st_mtime * 1e6)
    except OSError:
        return 0


class TrialRunner:
    """Scores photos with the cameras' models on trial, on its own thread (started with the first
    trial), and appends their calls to the machines' trial files."""

    def __init__(self, line_folder: Path, queue_size: int = QUEUE) -> None:
        self.line_folder = line_folder
        self.models_: dict[Path, TrialModel] = {}
        self.queue_: queue.Queue[tuple[Path, list[str], list[float | None]] | None] = queue.Queue(queue_size)
        self.lock_ = threading.Lock()  # the models (not closed while one scores)
        self.files_ = threading.Lock()  # the trial files and their counts
        self.thread_: threading.Thread | None = None
        self.speed = SpeedMeter(line_folder / TRIAL_SPEED_FILE)
        self.counts_: dict[str, int] = {}  # records in each machine's file

    def set_models(self, models: dict[Path, TrialModel]) -> None:
        """The cameras' models on trial from now on (the old ones are closed); a machine whose
        version changed starts a new file."""
        before = {t.machine: t.version_id for t in self.models_.values()}
        with self.files_:
            for t in models.values():
                if before.get(t.machine) != t.version_id:
                    self._reset(t.machine, t.version_id)
        with self.lock_:
            old, self.models_ = self.models_, models
            for t in old.values():
                t.model.close()
        if models and self.thread_ is None:
            self.thread_ = threading.Thread(target=self._work, name="inspection-trial", daemon=True)
            self.thread_.start()

    def _reset(self, machine: str, version_id: int) -> None:
        """A new trial: drop another version's records (the same version's go on)."""
        path = trial_file(self.line_folder, machine)
        calls = [c for c in read_calls(path) if c.version_id == version_id]
        self._rewrite(path, calls)
        self.counts_[machine] = len(calls)

    def offer(self, folder: Path, paths: Sequence[str], station: Sequence[float | None]) -> None:
        """Hand a camera's scored photos to its model on trial, if any; never waits."""
        trial = self.models_.get(folder)
        if trial is None:
            return
        try:
            self.queue_.put_nowait((folder, list(paths), list(station)))
        except queue.Full:  # the PC is behind: say so, photo by photo, rather than slow the line
            now = time.time()
            calls = [
                TrialCall(p, _stamp_us(p), s, None, "busy", trial.version_id, now)
                for p, s in zip(paths, station, strict=True)
            ]
            self._append(trial.machine, calls)

    def _work(self) -> None:
        while True:
            item = self.queue_.get()
            if item is None:
                return
            try:
                self._score(*item)
            except Exception:  # a trial must never stop the station: log and go on
                log.exception("inspection trial: photos not scored")

    def _score(self, folder: Path, paths: list[str], station: list[float | None]) -> None:
        with self.lock_:  # the model is not closed under us
            trial = self.models_.get(folder)
            if trial is None:
                return
            started = time.perf_counter()
            batch = trial.model.predict_files(paths)
            self.speed.add(trial.machine, trial.label, time.perf_counter() - started, len(paths))
            self.speed.flush()  # on this thread, every few seconds (the meter is this thread's)
        found = {p.name: float(p.score) for p in batch.predictions}
        now = time.time()
        calls = [
            TrialCall(p, _stamp_us(p), s, found.get(p), "" if p in found else "unreadable", trial.version_id, now)
            for p, s in zip(paths, station, strict=True)
        ]  # fmt: skip
        self._append(trial.machine, calls)

    def _append(self, machine: str, calls: list[TrialCall]) -> None:
        with self.files_:
            self._append_locked(machine, calls)

    def _append_locked(self, machine: str, calls: list[TrialCall]) -> None:
        path = trial_file(self.line_folder, machine)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as f:
                f.writelines(json.dumps(c._asdict()) + "\n" for c in calls)
        except OSError as e:
            log.warning("inspection trial: %s not written: %s", path, e)
            return
        n = self.counts_.get(machine, 0) + len(calls)
        if n > MAX_RECORDS:
            kept = read_calls(path)[-MAX_RECORDS // 2 :]
            self._rewrite(path, kept)
            n = len(kept)
        self.counts_[machine] = n

    @staticmethod
    def _rewrite(path: Path, calls: list[TrialCall]) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text("".join(json.dumps(c._asdict()) + "\n" for c in calls), encoding="utf-8")
            tmp.replace(path)
        except OSError as e:
            log.warning("inspection trial: %s not written: %s", path, e)

    def apply_retention(self, before: float) -> int:
        """Drop the records older than ``before`` (Unix seconds); returns how many."""
        n = 0
        with self.files_:
            for path in (self.line_folder / TRIALS_DIR).glob("*.jsonl"):
                calls = read_calls(path)
                kept = [c for c in calls if c.at >= before]
                if len(kept) < len(calls):
                    self._rewrite(path, kept)
                    self.counts_[path.stem] = len(kept)
                    n += len(calls) - len(kept)
        return n

    def close(self, timeout_s: float = 60.0) -> None:
        """Score what is queued, stop the thread, close the models and write the last times."""
        if self.thread_ is not None:
            self.queue_.put(None)
            self.thread_.join(timeout_s)
            self.thread_ = None
        self.set_models({})
        self.speed.flush(force=True)


def read_calls(path: Path) -> list[TrialCall]:
    """A machine's trial records, oldest first; a torn or foreign line is skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            out.append(TrialCall(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return out
