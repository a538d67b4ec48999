"""What scoring gives back: one image's :class:`Prediction`, a batch of them with the images
skipped, and the raw :class:`ScoredBatch` that evaluation reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from aion.solutions.inspection.align import is_weak_match
from aion.solutions.inspection.postprocess import Pixels, Region, mask_image, overlay


@dataclass
class Prediction:
    """Result for one image. ``score`` is 0-1 with the threshold at 0.5; ``anomaly_map`` is the
    normalised map at model resolution (not in :meth:`to_dict`)."""

    name: str
    score: float
    raw_score: float
    passed: bool
    threshold: float
    image_size: tuple[int, int]
    regions: list[Region]
    anomaly_map: np.ndarray = field(repr=False)
    elapsed_ms: float = 0.0
    # each pooled statistic of the map in standard deviations of good images (format 4 models):
    # which one decided tells a spot ("top_1%") from a part that is off all over ("whole_map")
    statistics: dict[str, float] = field(default_factory=dict)
    # the model's inspection area in this photo's pixels (``area.py``): the map covers ``crop``
    # (``None``: the whole photo), and the ``ignore`` boxes never count
    crop: Pixels | None = None
    ignore: tuple[Pixels, ...] = ()
    # for an area that follows the part (``align.py``): how well the part matched the reference
    # photo where it was found (correlation, -1 to 1; below ``align.WEAK_MATCH`` it hardly looked
    # like the part there)
    part_match: float | None = None
    # degrees the part turned from the reference photo's (counter-clockwise), for an area that
    # follows a part that may turn: ``crop`` and ``ignore`` are then the boxes before the turn,
    # turned by it about the crop's centre
    angle: float = 0.0

    @property
    def weak_match(self) -> bool:
        """Whether the part hardly looked like the reference photo's where it was found."""
        return is_weak_match(self.part_match)

    @property
    def cause(self) -> str | None:
        """The statistic that decided the score (the largest), or ``None`` for older models."""
        return max(self.statistics, key=lambda k: self.statistics[k]) if self.statistics else None

    @property
    def is_defect(self) -> bool:
        return not self.passed

    def heatmap(self, image: np.ndarray) -> Image.Image:
        """PNG-ready heat-map overlay on the original ``image`` (H, W, 3 uint8)."""
        return overlay(image, self.anomaly_map, crop=self.crop, ignore=self.ignore, angle=self.angle)

    def mask(self) -> Image.Image:
        """Binary defect mask at the original image size."""
        return mask_image(self.anomaly_map, self.image_size, self.crop, self.angle)

    def save_overlays(self, folder: Path) -> tuple[Path, Path]:
        """Write ``<stem>_heatmap.png`` (the overlay on the image file ``name``, read again) and
        ``<stem>_mask.png`` into ``folder``; :class:`~.errors.BadImageError` when the file can no
        longer be read (changed or moved since it was scored)."""
        from aion.solutions.inspection.images import read_image

        folder.mkdir(parents=True, exist_ok=True)
        stem = Path(self.name).stem
        heat, mask = folder / f"{stem}_heatmap.png", folder / f"{stem}_mask.png"
        self.heatmap(read_image(Path(self.name))).save(heat)
        self.mask().save(mask)
        return heat, mask

    def to_dict(self) -> dict[str, Any]:
        area: dict[str, Any] = {
            "crop": list(self.crop) if self.crop else None,
            "ignore": [list(b) for b in self.ignore],
        }
        if self.part_match is not None:
            area["part_match"] = round(self.part_match, 4)
        if self.angle:
            area["angle"] = round(self.angle, 2)
        return {
            "name": self.name,
            "score": round(self.score, 6),
            "raw_score": round(self.raw_score, 6),
            "passed": self.passed,
            "verdict": "OK" if self.passed else "NG",
            "threshold": self.threshold,
            "image_size": list(self.image_size),
            "regions": [r.to_dict() for r in self.regions],
            # what was inspected, in pixels (x0, y0, x1, y1); null: the whole photo, nothing ignored
            "area": area if self.crop or self.ignore else None,
            "statistics": {k: round(v, 4) for k, v in self.statistics.items()},
            "cause": self.cause,
            "elapsed_ms": round(self.elapsed_ms, 3),
        }


class ScoredBatch(NamedTuple):
    """What :meth:`InspectionModel.score_batch` gives: raw image scores ``(N,)``, anomaly maps
    ``(N, S, S)`` and the memory bank's own patch distances ``(N, grid, grid)``."""

    scores: np.ndarray
    maps: np.ndarray
    bank: np.ndarray


@dataclass
class SkippedImage:
    name: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "reason": self.reason}


@dataclass
class PredictionBatch:
    predictions: list[Prediction]
    skipped: list[SkippedImage]

    def to_dict(self) -> dict[str, Any]:
        return {
            "predictions": [p.to_dict() for p in self.predictions],
            "skipped": [s.to_dict() for s in self.skipped],
        }
