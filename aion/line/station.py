"""The pass/fail inspection station: camera sources that name an inspection model (``.aion``)
have each new photo scored on the line, as ``aion inspect predict`` would score it.

A camera source in ``line.yaml``::

    sources:
      - {name: cam, kind: camera, folder: /data/camera, camera: station,
         model: /models/bracket.aion, heatmaps: /data/ng}      # threshold: 3.2 overrides the model's
    machines:
      - {name: station, tags: [{name: image, source: cam, high: 0.5}]}

Each photo becomes a reading of ``station.image`` whose value is the model's score (0-1, 0.5 at
its threshold), stored with the photo's path; ``high: 0.5`` raises an alarm for an NG part (and
so write-back actions can drive a reject gate), and an NG photo's heat map and defect mask are
written to ``heatmaps``. A photo that cannot be read (truncated, deleted before it was scored)
counts as NG (score 1.0), with the reason logged: a part that was not inspected must not pass.

The models run with ONNX Runtime (no torch), on the PC beside the line.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from aion.line.errors import LineConfigError

log = logging.getLogger(__name__)

#: The value of a photo that could not be inspected: above any threshold (NG).
UNREADABLE_SCORE = 1.0


class Camera(NamedTuple):
    """One camera's model and what to do with its results."""

    model: Any  # aion.solutions.inspection.InspectionModel
    threshold: float | None  # raw units; None: the model's own
    heatmaps: Path | None  # where NG photos' heat maps and masks go


class InspectionStation:
    """An :class:`~aion.line.scoring.ImageScorer` for camera sources with a model: a photo's
    camera is known by its folder."""

    def __init__(self, cameras: dict[Path, Camera]) -> None:
        self.cameras = cameras

    def score_images(self, paths: Sequence[str]) -> list[float]:
        scores = [0.0] * len(paths)
        by_folder: dict[Path, list[int]] = defaultdict(list)
        for i, p in enumerate(paths):
            by_folder[Path(p).resolve().parent].append(i)
        for folder, idx in by_folder.items():
            camera = self.cameras.get(folder)
            if camera is None:  # a camera source without a model
                continue
            batch = camera.model.predict_files([paths[i] for i in idx], threshold=camera.threshold)
            found = {p.name: p for p in batch.predictions}
            for s in batch.skipped:
                log.warning("inspection: %s not inspected (counted NG): %s", s.name, s.reason)
            for i in idx:
                pred = found.get(str(paths[i]))
                scores[i] = UNREADABLE_SCORE if pred is None else float(pred.score)
                if pred is not None and not pred.passed and camera.heatmaps is not None:
                    self._overlays(pred, camera.heatmaps)
        return scores

    @staticmethod
    def _overlays(pred: Any, folder: Path) -> None:
        from aion.solutions.inspection.errors import BadImageError

        try:
            pred.save_overlays(folder)
        except (BadImageError, OSError) as e:  # the photo moved, or the folder cannot be written
            log.warning("inspection: no heat map for %s: %s", pred.name, e)

    def close(self) -> None:
        for camera in self.cameras.values():
            camera.model.close()


def station_for(connectors: Iterable[Any], threads: int | None = 2) -> InspectionStation | None:
    """The station for the camera connectors that name a model (``None`` when none does); a model
    file that cannot be opened stops the line from starting, with its path and the reason."""
    from aion.solutions.inspection import InspectionError, InspectionModel

    cameras: dict[Path, Camera] = {}
    for c in connectors:
        if not getattr(c, "model", ""):
            continue
        try:
            model = InspectionModel.load(Path(c.model), threads=threads)
        except (InspectionError, OSError) as e:
            raise LineConfigError(
                f"검사 모델을 열 수 없음: {c.name}.model={c.model} ({e}) / "
                f"Cannot open the inspection model of source {c.name!r}: {c.model} ({e})"
            ) from e
        heatmaps = Path(c.heatmaps) if c.heatmaps else None
        cameras[Path(c.folder).resolve()] = Camera(model, c.threshold, heatmaps)
    return InspectionStation(cameras) if cameras else None
