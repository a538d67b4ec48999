"""How fast the inspection station scores photos on the PC beside the line, as it runs.

A model's speed measured where it was trained (``aion inspect evaluate``, the registry's
``ms_per_image``) says little about the line PC, which is often older and busy with other work.
The station times every photo it scores (reading the file, preprocessing, the model, the heat
map of an NG part) and keeps the newest :data:`WINDOW` times per camera; every few seconds it
writes them, summed up, to ``<line folder>/station_speed.json``, which the web app's photos page
reads beside the photos: the median, 95th percentile and slowest photo of the model in use, the
PC's name, and how many photos an hour that allows.

>>> meter = SpeedMeter(None)
>>> meter.add("station", "bracket.aion", 0.12, 3, at=1000.0)  # a batch of 3 photos in 120 ms
>>> s = meter.speeds()["station"]
>>> (s.model, s.photos, s.ms_median, round(s.per_hour))
('bracket.aion', 3, 40.0, 90000)
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

#: The file a running line writes its station's speeds to, in the line's folder.
SPEED_FILE = "station_speed.json"
#: Photos per camera the figures are taken over (the newest).
WINDOW = 200


def deployed_label(model: str, version: object) -> str:
    """How the station names a model deployed from the registry (its figures say which model).

    >>> deployed_label("브래킷 외관 검사", 3)
    '브래킷 외관 검사 v3'
    """
    return f"{model} v{version}"


@dataclass(frozen=True)
class CameraSpeed:
    """A camera's model timed on the line PC over its newest ``photos`` (at most :data:`WINDOW`)."""

    camera: str  # the machine its photos are readings of (``camera:`` of the source)
    model: str  # the model in use: its file, or the registry's name and version
    photos: int
    ms_median: float
    ms_p95: float
    ms_max: float
    measured_at: float  # Unix time of the newest photo timed
    host: str  # the PC's name
    cpu: str = ""  # its processor

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.measured_at, UTC)

    @property
    def per_hour(self) -> float:
        """Photos an hour the PC can score at the 95th percentile's pace (0 when not measured)."""
        return 3_600_000.0 / self.ms_p95 if self.ms_p95 > 0 else 0.0

    def keeps_up(self, photos_an_hour: float) -> bool:
        """Whether the PC inspects ``photos_an_hour`` with a fifth to spare (as ``aion inspect speed``)."""
        from aion.solutions.inspection.speed import HEADROOM

        return photos_an_hour <= HEADROOM * self.per_hour


class SpeedMeter:
    """Per-photo times of each camera's model; :meth:`flush` writes them to ``path`` (``None``:
    kept in memory only) at most every ``every_s`` seconds unless forced."""

    def __init__(self, path: Path | None, window: int = WINDOW, every_s: float = 5.0) -> None:
        self.path = path
        self.window = window
        self.every_s = every_s
        self.times_: dict[str, deque[float]] = {}
        self.models_: dict[str, str] = {}
        self.last_: dict[str, float] = {}
        self.next_flush_ = 0.0
        self.dirty_ = False  # times added since the last write
        self.host_ = platform.node() or "?"
        self.cpu_ = ""  # read on the first figures (the inspection package is imported late)

    def add(self, camera: str, model: str, seconds: float, photos: int, at: float | None = None) -> None:
        """Time a batch of ``photos`` of ``camera`` scored by ``model`` in ``seconds``; a new model
        starts a new window (the old one's times say nothing of it)."""
        if photos <= 0:
            return
        if self.models_.get(camera) != model:
            self.models_[camera] = model
            self.times_[camera] = deque(maxlen=self.window)
        self.times_[camera].extend([seconds * 1000.0 / photos] * photos)
        self.last_[camera] = time.time() if at is None else at
        self.dirty_ = True

    def speeds(self) -> dict[str, CameraSpeed]:
        from aion.solutions.inspection.speed import cpu_name, timing_ms

        self.cpu_ = self.cpu_ or cpu_name()
        out = {}
        for camera, times in self.times_.items():
            median, p95, slowest = timing_ms(times)
            out[camera] = CameraSpeed(
                camera, self.models_[camera], len(times), median, p95, slowest, self.last_[camera],
                self.host_, self.cpu_,
            )  # fmt: skip
        return out

    def flush(self, force: bool = False) -> None:
        """Write the figures (atomically) when new times came and ``every_s`` has passed since the
        last write (``force``: whenever new times came); a file that cannot be written is logged,
        never raised (the line goes on scoring). The line's pipeline calls it twice a second, so the
        last photos before the camera stops are written too."""
        now = time.monotonic()
        if self.path is None or not self.dirty_ or (not force and now < self.next_flush_):
            return
        self.next_flush_ = now + self.every_s
        self.dirty_ = False
        doc = {"cameras": {c: asdict(s) for c, s in self.speeds().items()}}
        tmp = self.path.with_name(f".{self.path.name}-{uuid.uuid4().hex}")
        try:
            tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as e:
            log.warning("inspection: station speed not written to %s: %s", self.path, e)
            tmp.unlink(missing_ok=True)


def read_speeds(line_folder: Path, file: str = SPEED_FILE) -> dict[str, CameraSpeed]:
    """The figures a running (or the last) station of the line wrote (``file``: the models on
    trial's, ``trialrun.TRIAL_SPEED_FILE``); empty when none or unreadable."""
    try:
        doc = json.loads((line_folder / file).read_text(encoding="utf-8"))
        return {c: CameraSpeed(**s) for c, s in doc["cameras"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
