"""How fast a model inspects photos on this PC, timed as a line's station runs it.

The speed measured where a model was trained says little about the PC beside the line, which is
often older and busy with other work. :func:`measure_speed` times the station's own entry
(:meth:`InspectionModel.predict_files <aion.solutions.inspection.model.InspectionModel.predict_files>`:
read the file, decode, preprocess, the model, the score) on the photos given, ``batch`` at a time
(1: one photo per camera trigger, as a station at a camera's pace sees them), after one untimed
warm-up call (ONNX Runtime allocates its buffers on the first). Without photos it writes
synthetic ones of :data:`SYNTHETIC_SIZE` (a common 1.2-megapixel industrial camera) to a
temporary folder: decoding and resizing a camera's frame is part of the cost.

>>> timing_ms([30.0, 10.0, 20.0, 40.0])
(25.0, 38.5, 40.0)
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aion.solutions.inspection.predictions import SkippedImage

if TYPE_CHECKING:
    from aion.solutions.inspection.model import InspectionModel

#: Width and height of the synthetic photos timed when none are given.
SYNTHETIC_SIZE = (1280, 960)
#: The share of the PC's pace a camera may use: a fifth is kept spare (other work, a slow photo).
HEADROOM = 0.8


def timing_ms(ms: Sequence[float]) -> tuple[float, float, float]:
    """Median, 95th percentile and slowest of per-photo times (ms), rounded to 0.01 ms."""
    a = np.asarray(ms, dtype=np.float64)
    return (
        round(float(np.median(a)), 2),
        round(float(np.percentile(a, 95)), 2),
        round(float(a.max()), 2),
    )


def cpu_name() -> str:
    """The processor's model name (Linux ``/proc/cpuinfo``), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "?"


@dataclass(frozen=True)
class SpeedReport:
    """Per-photo times of a model on this PC; ``per_hour`` at the 95th percentile's pace."""

    photos: int  # photos timed (the warm-up call's not counted)
    batch: int
    synthetic: bool  # timed on generated photos (no photos were given)
    warmup_ms: float  # the first call, per photo
    ms_median: float
    ms_p95: float
    ms_max: float
    threads: int | None
    host: str
    cpu: str
    skipped: list[SkippedImage] = field(default_factory=list)

    @property
    def per_hour(self) -> float:
        return 3_600_000.0 / self.ms_p95 if self.ms_p95 > 0 else 0.0

    def keeps_up(self, every_s: float) -> bool:
        """Whether the PC inspects a photo every ``every_s`` seconds with a fifth to spare."""
        return self.ms_p95 <= HEADROOM * every_s * 1000.0

    def to_dict(self) -> dict[str, Any]:
        """Every field (skipped images as ``{name, reason}``) and ``per_hour``."""
        return {**asdict(self), "per_hour": round(self.per_hour, 1)}


def synthetic_photos(folder: Path, n: int = 8, seed: int = 0) -> list[Path]:
    """``n`` PNG photos of :data:`SYNTHETIC_SIZE`: smooth grey texture with sensor noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = SYNTHETIC_SIZE
    out = []
    for i in range(n):
        coarse = rng.uniform(60, 190, size=(h // 32 + 1, w // 32 + 1, 3)).astype(np.float32)
        base = np.kron(coarse, np.ones((32, 32, 1), dtype=np.float32))[:h, :w]
        img = np.clip(base + rng.normal(0, 8, size=base.shape), 0, 255).astype(np.uint8)
        path = folder / f"synthetic_{i:02d}.png"
        Image.fromarray(img).save(path, compress_level=1)
        out.append(path)
    return out


def measure_speed(
    model: InspectionModel,
    paths: Sequence[Path] = (),
    batch: int = 1,
    rounds: int = 30,
    progress: Any = None,
) -> SpeedReport:
    """Time ``rounds`` calls of ``batch`` photos (the first ``rounds * batch`` photos, cycled when
    fewer) after a warm-up call on the first ``batch``. A call with a photo that cannot be read is
    not timed (it would look fast); such photos are named in ``skipped``."""
    from aion.solutions.inspection.errors import InspectionError

    if batch < 1 or rounds < 1:
        raise InspectionError(
            f"batch와 rounds는 1 이상이어야 함: {batch}, {rounds} / batch and rounds must be >= 1: {batch}, {rounds}"
        )
    with tempfile.TemporaryDirectory(prefix="aion-speed-") as tmp:
        synthetic = not paths
        files = synthetic_photos(Path(tmp)) if synthetic else [Path(p) for p in paths][: rounds * batch]
        calls = [[files[(r * batch + i) % len(files)] for i in range(batch)] for r in range(rounds + 1)]
        per_photo: list[float] = []
        skipped: dict[str, SkippedImage] = {}
        warmup = 0.0
        for r, call in enumerate(calls):
            started = time.perf_counter()
            result = model.predict_files(call, batch_size=batch)
            ms = (time.perf_counter() - started) * 1000.0 / len(call)
            if r == 0:
                warmup = ms
            elif not result.skipped:
                per_photo.append(ms)
            skipped.update((s.name, s) for s in result.skipped)
            if progress is not None:
                progress("speed", (r + 1) / len(calls))
    if not per_photo:
        raise InspectionError(
            "시간을 잴 수 있는 사진이 없습니다 (읽을 수 없는 사진뿐) / "
            "No photo could be read to time the model (every call had an unreadable one)"
        )
    median, p95, slowest = timing_ms(per_photo)
    return SpeedReport(
        photos=len(per_photo) * batch, batch=batch, synthetic=synthetic, warmup_ms=round(warmup, 2),
        ms_median=median, ms_p95=p95, ms_max=slowest, threads=model.threads,
        host=platform.node() or "?", cpu=cpu_name(), skipped=list(skipped.values()),
    )  # fmt: skip
