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
written to ``heatmaps`` (by default ``<line folder>/heatmaps/<source>``, pruned with the store's
retention). The web app shows them and takes people's verdicts (``photos.py``). A photo that
cannot be read (truncated, deleted before it was scored) counts as NG (score 1.0), with the
reason logged: a part that was not inspected must not pass. With a model whose area follows the
part (``align.py``), a photo where nothing looked like the part (an empty fixture, another part)
is scored where it looked most alike, and logged.

A new model written over the file a source names (``aion inspect train --out`` replaces it only
once complete) scores the next photos, checked once a second; a file that cannot be read there is
logged and the model in use kept. An inspection model deployed from the registry to a machine (the
model page's *Deploy to a line*) scores the photos of the camera whose readings are that machine's
(``camera: station``), without restarting the line, and takes the place of a model the source
names.

The models run with ONNX Runtime (no torch), on the PC beside the line; the station times each
photo there (``stationspeed.py``) and the photos page shows how fast the PC inspects.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from aion.line.errors import LineConfigError
from aion.line.scoring import file_stamp
from aion.line.stationspeed import SPEED_FILE, SpeedMeter, deployed_label
from aion.line.trialrun import TRIAL_THREADS, TrialModel, TrialRunner

log = logging.getLogger(__name__)

#: The value of a photo that could not be inspected: above any threshold (NG).
UNREADABLE_SCORE = 1.0


def load_model(file: Path, threads: int | None) -> Any:
    """Open an inspection model and run it once on a blank image, so that the first part after a
    start or a new model is not kept waiting while ONNX Runtime sets itself up (the station's
    timings then show the steady pace)."""
    import numpy as np

    from aion.solutions.inspection import InspectionModel

    model = InspectionModel.load(file, threads=threads)
    side = model.meta.resolution
    model.predict([np.zeros((side, side, 3), dtype=np.uint8)], ["warm-up"])
    return model


def heatmap_folder(line_folder: Path, source: str, heatmaps: str = "") -> Path:
    """Where the station writes a camera source's NG heat maps: its ``heatmaps`` option, else
    ``<line folder>/heatmaps/<source>``. (Relative folders in a line's configuration are taken
    from the directory the line runs in, as the camera's own ``folder`` is.)"""
    return Path(heatmaps) if heatmaps else line_folder / "heatmaps" / source


class Camera(NamedTuple):
    """One camera's model and what to do with its results."""

    model: Any  # aion.solutions.inspection.InspectionModel
    threshold: float | None  # raw units; None: the model's own
    heatmaps: Path | None  # where NG photos' heat maps and masks go
    file: Path | None = None  # the model file a source names (watched for a new model)
    stamp: tuple[int, int] | None = None  # that file's (modification time in ns, size) when read
    label: str = ""  # the model as people know it: its file's name, or the registry's name and version


class InspectionStation:
    """An :class:`~aion.line.scoring.ImageScorer` for the line's cameras: a photo's camera is
    known by its folder. ``fixed`` are the cameras whose source names a model; ``sources`` maps
    every camera's reading name (``camera:``) to its folder and heat-map folder, so that an
    inspection model deployed from the registry to that machine (``models/deployed.json`` in
    ``line_folder``, checked every ``check_s`` seconds) scores its photos without a restart."""

    def __init__(
        self,
        fixed: dict[Path, Camera],
        sources: dict[str, tuple[Path, Path | None]] | None = None,
        line_folder: Path | None = None,
        check_s: float = 1.0,
        threads: int | None = 2,
    ) -> None:
        self.fixed = fixed
        self.sources = sources or {}
        self.line_folder = line_folder
        self.check_s = check_s
        self.threads = threads
        self.deployed_: dict[Path, Camera] = {}
        self.stamp_: tuple[int, int] | None = None
        self.next_check_ = 0.0
        self.names_ = {folder: machine for machine, (folder, _) in self.sources.items()}
        self.speed = SpeedMeter(line_folder / SPEED_FILE if line_folder is not None else None)
        self.trial = TrialRunner(line_folder) if line_folder is not None else None  # models on trial

    @property
    def cameras(self) -> dict[Path, Camera]:
        """Each camera folder's model: a deployment from the registry, else the source's own."""
        return {**self.fixed, **self.deployed_}

    def refresh(self) -> None:
        """Reload a model file a source names when it was replaced (a retrained model written
        over it), and load the inspection models deployed to the line's machines when the
        deployment file changed; a model that cannot load is logged and the one in use kept."""
        self._refresh_fixed()
        if self.line_folder is None:
            return
        from aion.line.scoring import DEPLOYED, deployed_stamp

        stamp = deployed_stamp(self.line_folder)
        if stamp == self.stamp_:
            return
        path = self.line_folder / DEPLOYED
        try:
            doc = json.loads(path.read_text(encoding="utf-8")) if stamp is not None else {}
            deployed = self._load_deployed(path, doc)
        except Exception:  # a bad deployment must not stop the line: keep what we have
            log.exception("deployed inspection models of %s could not be loaded", self.line_folder)
            return
        self.stamp_ = stamp
        old, self.deployed_ = self.deployed_, deployed
        for camera in old.values():
            camera.model.close()
        log.info("line cameras with a deployed model: %s", sorted(str(f) for f in deployed))
        self._load_trials(path, doc)

    def _open(self, path: Path, entry: dict[str, Any], threads: int | None = None) -> tuple[Any, str]:
        """A ``deployed.json`` entry's model, its file checked against its hash, and its label
        (``threads``: ONNX Runtime's, else the station's)."""
        from aion.platform.storage.blobstore import hash_file

        file = path.parent / Path(str(entry["file"])).name
        if hash_file(file) != entry.get("sha256"):
            raise LineConfigError(
                f"배포된 모델 파일 손상: {file} / The deployed model file is damaged: {file}"
            )
        label = deployed_label(entry.get("model") or file.name, entry.get("version", "?"))
        return load_model(file, threads or self.threads), label

    def _load_trials(self, path: Path, doc: dict[str, Any]) -> None:
        """The models on trial beside the cameras' own; one that cannot load is logged and left out
        (a trial never stops the line)."""
        if self.trial is None:
            return
        trials: dict[Path, TrialModel] = {}
        for machine, entry in (doc.get("trials") or {}).items():
            if machine not in self.sources:
                continue
            try:
                model, label = self._open(path, entry, TRIAL_THREADS)
            except Exception:
                log.exception("inspection trial of %s could not be loaded", machine)
                continue
            trials[self.sources[machine][0]] = TrialModel(
                model, machine, label, int(entry.get("version_id", 0))
            )
        self.trial.set_models(trials)
        if trials:
            log.info("line cameras with a model on trial: %s", sorted(t.machine for t in trials.values()))

    def _refresh_fixed(self) -> None:
        for folder, cam in list(self.fixed.items()):
            if cam.file is None:
                continue
            stamp = file_stamp(cam.file)
            if stamp is None or stamp == cam.stamp:  # unchanged, or gone: keep the model in use
                continue
            try:
                model = load_model(cam.file, self.threads)
            except Exception as e:  # a bad file (a copy still being written) must not stop the line
                log.warning(
                    "inspection model %s could not be reloaded (%s); the previous one stays", cam.file, e
                )
                self.fixed[folder] = cam._replace(stamp=stamp)  # tried once: again when it changes
                continue
            self.fixed[folder] = cam._replace(model=model, stamp=stamp)
            cam.model.close()
            log.info("inspection model %s reloaded for %s", cam.file, folder)

    def _load_deployed(self, path: Path, doc: dict[str, Any]) -> dict[Path, Camera]:
        out: dict[Path, Camera] = {}
        for machine, entry in (doc.get("machines") or {}).items():
            if entry.get("kind") != "inspection" or machine not in self.sources:
                continue
            folder, heatmaps = self.sources[machine]
            model, label = self._open(path, entry)
            out[folder] = Camera(model, None, heatmaps, label=label)
        return out

    def score_images(self, paths: Sequence[str]) -> list[float]:
        now = time.monotonic()
        if now >= self.next_check_:
            self.next_check_ = now + self.check_s
            self.refresh()
        cameras = self.cameras
        scores = [0.0] * len(paths)
        by_folder: dict[Path, list[int]] = defaultdict(list)
        for i, p in enumerate(paths):
            by_folder[Path(p).resolve().parent].append(i)
        for folder, idx in by_folder.items():
            camera = cameras.get(folder)
            if camera is None:  # a camera without a model (one on trial may still look)
                if self.trial is not None:
                    self.trial.offer(folder, [paths[i] for i in idx], [None] * len(idx))
                continue
            started = time.perf_counter()
            batch = camera.model.predict_files([paths[i] for i in idx], threshold=camera.threshold)
            found = {p.name: p for p in batch.predictions}
            for s in batch.skipped:
                log.warning("inspection: %s not inspected (counted NG): %s", s.name, s.reason)
            for i in idx:
                pred = found.get(str(paths[i]))
                scores[i] = UNREADABLE_SCORE if pred is None else float(pred.score)
                if pred is not None and pred.weak_match:
                    # an area that follows the part found nothing like it: an empty fixture, a
                    # different part, a camera that moved (scored anyway, where it looked most alike)
                    log.warning(
                        "inspection: %s: the part hardly matched the reference photo (%.2f): is it there, "
                        "and the right part?",
                        pred.name,
                        pred.part_match,
                    )
                if pred is not None and not pred.passed and camera.heatmaps is not None:
                    self._overlays(pred, camera.heatmaps)
            name = self.names_.get(folder, folder.name)
            self.speed.add(name, camera.label, time.perf_counter() - started, len(idx))
            if self.trial is not None:
                self.trial.offer(folder, [paths[i] for i in idx], [scores[i] for i in idx])
        return scores

    def save_speed(self) -> None:
        """Write the photos' timings for the web app when due (the line's pipeline asks twice a
        second; :meth:`close` writes the last)."""
        self.speed.flush()

    @staticmethod
    def _overlays(pred: Any, folder: Path) -> None:
        from aion.solutions.inspection.errors import BadImageError

        try:
            pred.save_overlays(folder)
        except (BadImageError, OSError) as e:  # the photo moved, or the folder cannot be written
            log.warning("inspection: no heat map for %s: %s", pred.name, e)

    def apply_retention(self, before: float) -> int:
        """Delete the heat maps and masks older than ``before`` (Unix seconds) that the station
        wrote into the line's own folder (a ``heatmaps`` folder the configuration names is the
        user's to keep); returns how many files."""
        if self.line_folder is None:
            return 0
        n = self.trial.apply_retention(before) if self.trial is not None else 0
        for folder in {h for _, h in self.sources.values() if h is not None}:
            if not folder.is_relative_to(self.line_folder):
                continue
            for f in [*folder.glob("*_heatmap.png"), *folder.glob("*_mask.png")]:
                try:
                    if f.stat().st_mtime < before:
                        f.unlink()
                        n += 1
                except OSError as e:  # removed meanwhile, or not ours to remove
                    log.warning("inspection: could not remove %s: %s", f, e)
        return n

    def close(self) -> None:
        if self.trial is not None:
            self.trial.close()
        self.speed.flush(force=True)
        for camera in [*self.fixed.values(), *self.deployed_.values()]:
            camera.model.close()


def station_for(
    connectors: Iterable[Any], line_folder: Path | None = None, threads: int | None = 2
) -> InspectionStation | None:
    """The station of the line's camera connectors (``None`` without cameras): those that name a
    model are scored by it; any camera's machine may get one deployed from the registry. A model
    file that cannot be opened stops the line from starting, with its path and the reason."""
    from aion.solutions.inspection import InspectionError

    fixed: dict[Path, Camera] = {}
    sources: dict[str, tuple[Path, Path | None]] = {}
    for c in connectors:
        if getattr(c, "kind", "") != "camera":
            continue
        folder = Path(c.folder).resolve()
        heatmaps = (
            heatmap_folder(line_folder, c.name, c.heatmaps)
            if line_folder
            else (Path(c.heatmaps) if c.heatmaps else None)
        )
        sources[c.camera] = (folder, heatmaps)
        if not c.model:
            continue
        file = Path(c.model)
        stamp = file_stamp(file)
        try:
            model = load_model(file, threads)
        except (InspectionError, OSError) as e:
            for camera in fixed.values():
                camera.model.close()
            raise LineConfigError(
                f"검사 모델을 열 수 없음: {c.name}.model={c.model} ({e}) / "
                f"Cannot open the inspection model of source {c.name!r}: {c.model} ({e})"
            ) from e
        fixed[folder] = Camera(model, c.threshold, heatmaps, file, stamp, file.name)
    if not sources:
        return None
    return InspectionStation(fixed, sources, line_folder, threads=threads)
