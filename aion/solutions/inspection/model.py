"""The trained inspection model: backbone runner + memory bank + metadata, ready to score images.

It is saved as one ``.aion`` file (``modelfile.py``); :meth:`InspectionModel.load` needs only
numpy, Pillow and onnxruntime (faiss is used if present; with the ``onnx`` package the inverted
lists are scanned by ONNX Runtime, else by numpy).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from aion.solutions.inspection.align import PartAligner, Placement
from aion.solutions.inspection.area import InspectionArea
from aion.solutions.inspection.coarse import search_grid
from aion.solutions.inspection.combine import combine, head_rule
from aion.solutions.inspection.errors import BadImageError, InspectionError
from aion.solutions.inspection.head import DefectHead
from aion.solutions.inspection.images import read_image, resize_pixels
from aion.solutions.inspection.knn import IvfLists, NearestNeighbour, single_thread_blas
from aion.solutions.inspection.meta import ModelMeta
from aion.solutions.inspection.modelfile import ModelParts, read_model, write_model
from aion.solutions.inspection.postprocess import find_regions, map_operator, normalise, turned_regions
from aion.solutions.inspection.predictions import Prediction, PredictionBatch, ScoredBatch, SkippedImage
from aion.solutions.inspection.runners import FeatureRunner, OnnxRunner
from aion.solutions.inspection.scoring import (
    image_scores,
    pooled_scores,
    standardised,
    statistic_names,
)

__all__ = ["InspectionModel", "ModelMeta", "Prediction", "PredictionBatch", "ScoredBatch", "SkippedImage"]

Progress = Callable[[str, float], None]


class InspectionModel:
    """A PatchCore-style anomaly detector ready to score images.

    ``meta`` holds preprocessing and threshold; ``memory_bank_`` the coreset of patch features;
    ``runner`` the backbone (torch after training, ONNX Runtime after :meth:`load`).
    """

    def __init__(
        self,
        meta: ModelMeta,
        memory_bank: np.ndarray,
        runner: FeatureRunner,
        threads: int | None = None,
        ivf_centroids: np.ndarray | None = None,
        defect_head: DefectHead | None = None,
        held_back_patches: np.ndarray | None = None,
        unusual_patches: np.ndarray | None = None,
        align_frame: np.ndarray | None = None,
    ):
        self.meta = meta
        self.defect_head_ = defect_head
        # the patch scores ``(n, grid, grid)`` that gave the held-back good images their
        # calibration scores (``meta.calibration["good_fingerprints"]`` order), measured against a
        # bank without each image's own rows: the heat map of a good image as a new part
        self.held_back_patches_ = held_back_patches
        # the same for the good images to check (``meta.calibration["unusual_good"]`` order,
        # ``goodcheck.py``), held back or not
        self.unusual_patches_ = unusual_patches
        self.memory_bank_ = np.ascontiguousarray(memory_bank, dtype=np.float32)
        self.runner = runner
        self.threads = threads
        self.ivf_centroids_ = ivf_centroids
        self.train_report_: Any = None  # set by train()
        self._nn: NearestNeighbour | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._op = map_operator(meta.grid, meta.resolution, meta.sigma)
        self._op_t = np.ascontiguousarray(self._op.T)
        # the part of each photo inspected (area.py): the crop is what ``preprocess`` resizes; the
        # ignore boxes' pixels of the map, and the patches in or next to them, never count
        self.area = InspectionArea.from_dict(meta.area)
        self._ignored = self.area.ignored(meta.resolution)
        self._ignored_patches = self.area.ignored_patches(meta.grid, meta.resolution)
        # an area that follows the part (align.py): the crop drawn on the reference photo is found
        # in each photo, and the whole area moves with it (and turns with it, with ``area.turn``)
        self.aligner_: PartAligner | None = None
        if self.area.align and self.area.crop is not None:
            if align_frame is None:
                raise InspectionError("An inspection area that follows the part needs its reference photo")
            self.aligner_ = PartAligner(self.area.crop, turn=self.area.turn).with_frame(align_frame)
        self._pixels = meta.graph_input == "pixels"
        # the graph of a format-3 file applies the level factors itself
        scaled = bool(meta.feature_scale) and not self._pixels
        self._scale = np.asarray(meta.feature_scale, dtype=np.float32) if scaled else None

    @property
    def ignored_pixels(self) -> np.ndarray | None:
        """``(S, S)`` bool: the map's pixels in the ignore boxes (``None``: none), always 0."""
        return self._ignored

    @property
    def ignored_patches(self) -> np.ndarray:
        """``(grid, grid)`` bool: the patches whose scores never count (in or next to an ignore box)."""
        return self._ignored_patches

    def close(self) -> None:
        """Stop the model's worker threads (preprocessing and search). The model stays usable: a
        later call starts them again. ``with InspectionModel.load(path) as model:`` closes it."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._nn is not None:
            self._nn.close()

    def __enter__(self) -> InspectionModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scoring -------------------------------------------------------------------------------

    @property
    def nn(self) -> NearestNeighbour:
        if self._nn is None:
            ivf = None
            if self.meta.knn == "ivf" and self.ivf_centroids_ is not None:
                sizes = np.asarray(self.meta.ivf_sizes, dtype=np.int64)
                ivf = IvfLists(self.ivf_centroids_, sizes, self.meta.ivf_nprobe, self.meta.ivf_dim)
            self._nn = NearestNeighbour(self.memory_bank_, threads=self.threads, ivf=ivf)
        return self._nn

    def place(self, image: np.ndarray) -> Placement:
        """The inspection area as it lies in ``image``: the model's own, or moved (and turned) to
        where the part is for an area that follows it (with the match)."""
        if self.aligner_ is None:
            return Placement(self.area)
        found = self.aligner_.locate(image)
        area = self.area.shifted(found.dx, found.dy).turned(found.angle)
        return Placement(area, found.match, found.at_limit)

    def place_all(self, images: Sequence[np.ndarray]) -> list[Placement]:
        """:meth:`place` of several images, on the model's threads when the part is followed (the
        FFTs and Pillow's resize run without the GIL)."""
        if self.aligner_ is None or (self.threads or 1) < 2 or len(images) < 2:
            return [self.place(im) for im in images]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="aion-preprocess")
        return list(self._pool.map(self.place, images))

    def preprocess(self, image: np.ndarray, area: InspectionArea | None = None) -> np.ndarray:
        """``(H, W, 3)`` uint8 -> the graph's input for one image: the whole image (or its inspection
        area's crop, format 9, where :meth:`place` puts it unless ``area`` is given) resized to ``(S, S, 3)`` uint8, ``(S, S, 1)`` for a grey image when the graph takes grey batches (files
        before format 3: ``(3, S, S)`` float32, also normalised). :meth:`batch` stacks them."""
        image = (area if area is not None else self.place(image).area).crop_image(image)
        if self._pixels:
            return resize_pixels(image, self.meta.resolution, keep_grey=self.runner.grey_input)
        s = self.meta.resolution
        img = Image.fromarray(image).resize((s, s), Image.Resampling.BILINEAR)
        # (x / 255 - mean) / std as one multiply-add per channel, channels first
        mean = np.asarray(self.meta.mean, dtype=np.float32)
        std = np.asarray(self.meta.std, dtype=np.float32)
        scale: np.ndarray = np.float32(1.0) / (np.float32(255.0) * std)
        shift: np.ndarray = -mean / std
        x = np.asarray(img).transpose(2, 0, 1).astype(np.float32, order="C")
        np.multiply(x, scale[:, None, None], out=x)
        np.add(x, shift[:, None, None], out=x)
        return x

    def _preprocess_all(
        self, images: Sequence[np.ndarray], areas: Sequence[InspectionArea | None] | None = None
    ) -> list[np.ndarray]:
        """Preprocess several images on the model's threads (Pillow resizes without the GIL)."""
        where = list(areas) if areas is not None else [None] * len(images)
        if (self.threads or 1) < 2 or len(images) < 2:
            return [self.preprocess(im, a) for im, a in zip(images, where, strict=True)]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="aion-preprocess")
        return list(self._pool.map(self.preprocess, images, where))

    def batch(
        self, images: Sequence[np.ndarray], areas: Sequence[InspectionArea] | None = None
    ) -> np.ndarray:
        """The graph's input for several images (preprocessed on the model's threads; each in its
        ``areas`` when given, else where :meth:`place` puts it): a grey batch stays one channel; in a
        batch that mixes grey and colour every image gets three."""
        pre = self._preprocess_all(images, areas)
        if len({p.shape for p in pre}) > 1:
            s = self.meta.resolution
            pre = [np.broadcast_to(p, (s, s, 3)) for p in pre]
        return np.stack(pre)

    def patch_features(self, batch: np.ndarray) -> np.ndarray:
        """Patch features, one row per patch: a :meth:`batch` -> ``(N, grid * grid, D)``."""
        feats = self.runner(batch)
        if self._pixels:
            return feats
        n, d, h, w = feats.shape
        if self._scale is None:
            return feats.transpose(0, 2, 3, 1).reshape(n, h * w, d)
        flat = np.empty((n, h * w, d), dtype=np.float32)  # channels last and scaled in one pass
        for i in range(n):  # image by image: a 2-D transpose reads memory in larger runs
            np.multiply(feats[i].reshape(d, h * w).T, self._scale, out=flat[i])
        return flat

    def patch_scores(self, batch: np.ndarray) -> np.ndarray:
        """Nearest-neighbour distance of every patch: ``(N, 3, S, S)`` -> ``(N, grid, grid)``."""
        return self.scores_of_features(self.patch_features(batch))

    def scores_of_features(self, feats: np.ndarray) -> np.ndarray:
        """Patch scores of patch features ``(N, grid * grid, D)`` -> ``(N, grid, grid)``: the
        nearest-neighbour distances, combined with the defect head's logits when there is one."""
        return self.combined(feats, self.bank_scores(feats))

    def bank_scores(self, feats: np.ndarray) -> np.ndarray:
        """Nearest-neighbour distances to the memory bank: ``(N, grid * grid, D)`` -> ``(N, grid, grid)``."""
        n, p, d = feats.shape
        g = self.meta.grid
        if self.meta.search_stride == 2:
            skip = self._ignored_patches if self._ignored is not None else None  # they never count
            return search_grid(self.nn.search, feats.reshape(n, g, g, d), self.meta.refine_level, skip)
        return self.nn.search(feats.reshape(n * p, d)).reshape(n, g, g)

    def combined(self, feats: np.ndarray, bank: np.ndarray) -> np.ndarray:
        """The patch scores the anomaly map is made of: the ``bank`` distances alone, or with a
        defect head, the distances and the head's logits each in units of the held-back good
        images' spread, summed (``head.py``)."""
        if self.defect_head_ is None:
            return bank
        h = self.meta.defect_head
        with single_thread_blas():  # small products; idle BLAS threads would spin beside the backbone's
            logits = self.defect_head_.score(feats, bank)
        return combine(
            bank, logits, h["bank_mean"], h["bank_std"], h["head_mean"], h["head_std"], head_rule(h)
        )

    def maps_of_patch_scores(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image scores ``(N,)`` and anomaly maps ``(N, S, S)`` from patch scores ``(N, grid, grid)``."""
        m = self.anomaly_maps(patches)
        return self.image_scores(m), m

    def anomaly_maps(self, patches: np.ndarray) -> np.ndarray:
        """Anomaly maps ``(N, S, S)`` from patch scores ``(N, grid, grid)``: upsampled and smoothed.
        With ignore boxes the patches centred in them first take the median of the image's other
        patches (so that nothing they hold spreads into their neighbours), and the map is 0 in them."""
        if self._ignored is not None and len(patches):
            patches = np.array(patches, dtype=np.float32)
            keep = ~self._ignored_patches
            if keep.any():
                typical = np.median(patches[:, keep], axis=1)
                patches[:, self._ignored_patches] = typical[:, None]
        with single_thread_blas():  # small products: BLAS threads cost more than they save
            m = np.matmul(np.matmul(self._op, patches), self._op_t)  # A @ P @ A.T, image by image
        m = m.astype(np.float32, copy=False)
        if self._ignored is not None:
            m[:, self._ignored] = 0.0
        return m

    def map_level(self, score: float) -> float:
        """The anomaly-map value that corresponds to a raw image score: the score itself when the
        image score is a share of the map; with standardised pooled statistics (format 4), the top
        fraction's statistic at the same number of standard deviations (``mean + z * std``)."""
        meta = self.meta
        if not meta.score_fractions:
            return score
        return meta.score_mean[0] + score * meta.score_std[0]

    def image_scores(self, maps: np.ndarray) -> np.ndarray:
        """Raw image score of each anomaly map ``(N, S, S)`` (``scoring.py``)."""
        z = self._standardised(maps)
        return image_scores(maps, self.meta.top_fraction) if z is None else z.max(axis=1)

    def scores_and_statistics(self, maps: np.ndarray) -> tuple[np.ndarray, list[dict[str, float]]]:
        """:meth:`image_scores`, and each map's pooled statistics in standard deviations of good
        images by name (empty dictionaries for models whose image score is one statistic)."""
        z = self._standardised(maps)
        if z is None:
            return image_scores(maps, self.meta.top_fraction), [{} for _ in maps]
        names = statistic_names(self.meta.score_fractions)
        return z.max(axis=1), [dict(zip(names, (float(v) for v in row), strict=True)) for row in z]

    def _standardised(self, maps: np.ndarray) -> np.ndarray | None:
        """``(N, F)`` pooled statistics standardised on good images (format 4; the image score is
        their largest, :func:`~.scoring.combined_scores`), or ``None`` for older models."""
        meta = self.meta
        if not meta.score_fractions:
            return None
        return standardised(pooled_scores(maps, meta.score_fractions), meta.score_mean, meta.score_std)

    def raw_maps(self, images: Sequence[np.ndarray], batch_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Raw image scores ``(N,)`` and raw anomaly maps ``(N, S, S)`` of decoded images."""
        scored = [self.score_batch(images[s : s + batch_size]) for s in range(0, len(images), batch_size)]
        if not scored:
            s = self.meta.resolution
            return np.zeros(0, np.float32), np.zeros((0, s, s), np.float32)
        return np.concatenate([b.scores for b in scored]), np.concatenate([b.maps for b in scored])

    def score_batch(
        self, images: Sequence[np.ndarray], areas: Sequence[InspectionArea] | None = None
    ) -> ScoredBatch:
        """Raw image scores, anomaly maps and the bank's own distances of a few decoded images
        (each in its ``areas`` when given, as :meth:`batch`)."""
        feats = self.patch_features(self.batch(images, areas))
        bank = self.bank_scores(feats)
        score, m = self.maps_of_patch_scores(self.combined(feats, bank))
        return ScoredBatch(score, m, bank)

    def predict(
        self,
        images: Sequence[np.ndarray],
        names: Sequence[str] | None = None,
        threshold: float | None = None,
        batch_size: int = 8,
    ) -> list[Prediction]:
        """Score decoded images (``(H, W, 3)`` uint8); ``threshold`` overrides the model's (raw units)."""
        t = self.meta.threshold if threshold is None else float(threshold)
        names = list(names) if names is not None else [f"image_{i}" for i in range(len(images))]
        out: list[Prediction] = []
        for s in range(0, len(images), batch_size):
            chunk = images[s : s + batch_size]
            start = time.perf_counter()
            placed = self.place_all(chunk)
            maps = self.anomaly_maps(self.patch_scores(self.batch(chunk, [p.area for p in placed])))
            per_ms = (time.perf_counter() - start) * 1000 / max(len(chunk), 1)
            out += self._predictions(names[s : s + len(chunk)], chunk, maps, t, per_ms, placed)
        return out

    def held_back_prediction(
        self, fingerprint: str, image: np.ndarray, name: str, threshold: float | None = None
    ) -> Prediction | None:
        """The prediction training made of a held-back good image, or of a good image to check
        (``goodcheck.py``; known by its file's :func:`~.data.fingerprint`): its heat map as a new
        part's, from the patch scores measured against a bank without its own rows (this model's
        bank holds some of them, so :meth:`predict` would show it cooler). ``None`` for other
        images and older model files."""
        fps = self.meta.calibration.get("good_fingerprints") or []
        unusual = [u["fingerprint"] for u in self.meta.calibration.get("unusual_good") or []]
        if self.held_back_patches_ is not None and fingerprint in fps:
            patches = self.held_back_patches_[fps.index(fingerprint)].astype(np.float32)
        elif self.unusual_patches_ is not None and fingerprint in unusual:
            patches = self.unusual_patches_[unusual.index(fingerprint)].astype(np.float32)
        else:
            return None
        t = self.meta.threshold if threshold is None else float(threshold)
        return self._predictions([name], [image], self.anomaly_maps(patches[None]), t, 0.0)[0]

    def _predictions(
        self,
        names: Sequence[str],
        images: Sequence[np.ndarray],
        maps: np.ndarray,
        t: float,
        per_ms: float,
        placed: Sequence[Placement] | None = None,
    ) -> list[Prediction]:
        """Predictions of ``images`` from their anomaly maps ``(N, S, S)`` at threshold ``t`` (each
        image's area where ``placed`` says, else where :meth:`place` puts it)."""
        # the heat map and the defect regions are read on the map's own scale
        map_t, map_low = self.map_level(t), self.map_level(self.meta.score_low)
        raw, stats = self.scores_and_statistics(maps)
        out = []
        for i, im in enumerate(images):
            norm = normalise(maps[i], map_t, map_low).astype(np.float32)
            if raw[i] <= t:
                # the image score is a mean over the hottest pixels, so a passed image can have a
                # few pixels above the threshold: its map shows no defect (nothing above 0.5)
                np.minimum(norm, 0.5, out=norm)
            size = (int(im.shape[1]), int(im.shape[0]))
            where = placed[i] if placed is not None else self.place(im)
            crop = where.area.crop_pixels(*size) if where.area.crop is not None else None
            x0, y0, x1, y1 = crop or (0, 0, *size)
            regions = find_regions(norm, (x1 - x0, y1 - y0), origin=(x0, y0)) if raw[i] > t else []
            if crop is not None and where.area.angle:
                regions = turned_regions(regions, crop, where.area.angle, size)
            out.append(
                Prediction(
                    name=names[i],
                    score=float(normalise(raw[i], t, self.meta.score_low)),
                    raw_score=float(raw[i]),
                    passed=bool(raw[i] <= t),
                    threshold=t,
                    image_size=size,
                    regions=regions,
                    anomaly_map=norm,
                    elapsed_ms=per_ms,
                    statistics=stats[i],
                    crop=crop,
                    ignore=tuple(b.pixels(*size) for b in where.area.ignore),
                    part_match=where.match,
                    angle=where.area.angle,
                )
            )
        return out

    def predict_files(
        self,
        paths: Sequence[Path],
        threshold: float | None = None,
        batch_size: int = 8,
        progress: Progress | None = None,
    ) -> PredictionBatch:
        """Read and score image files; bad images are reported in ``skipped`` and never raise."""
        result = PredictionBatch([], [])
        for s in range(0, len(paths), batch_size):
            images, names = [], []
            for p in paths[s : s + batch_size]:
                try:
                    images.append(read_image(Path(p)))
                    names.append(str(p))
                except BadImageError as e:
                    result.skipped.append(SkippedImage(str(p), e.reason))
            result.predictions += self.predict(images, names, threshold, batch_size)
            if progress is not None:
                progress("predict", min(1.0, (s + batch_size) / max(len(paths), 1)))
        return result

    def with_threshold(self, threshold: float, method: str = "manual") -> InspectionModel:
        """A copy sharing the runner and bank, with a new default threshold."""
        meta = replace(self.meta, threshold=float(threshold), threshold_method=method)
        model = InspectionModel(
            meta,
            self.memory_bank_,
            self.runner,
            self.threads,
            self.ivf_centroids_,
            self.defect_head_,
            self.held_back_patches_,
            self.unusual_patches_,
            self.aligner_.frame_ if self.aligner_ is not None else None,
        )
        model._nn = self._nn
        return model

    # -- persistence ---------------------------------------------------------------------------

    def save(self, path: Path | str) -> Path:
        """Write the model as one ``.aion`` file (zip, ``modelfile.py``)."""
        parts = ModelParts(
            self.meta,
            self.runner.onnx_bytes(),
            self.memory_bank_,
            self.ivf_centroids_,
            self.defect_head_,
            self.held_back_patches_,
            self.unusual_patches_,
            self.aligner_.frame_ if self.aligner_ is not None else None,
        )
        return write_model(path, parts)

    @classmethod
    def load(cls, path: Path | str, threads: int | None = None) -> InspectionModel:
        """Open a ``.aion`` file for inference with ONNX Runtime (no torch needed)."""
        p = read_model(path)
        runner = OnnxRunner(p.onnx, threads)
        return cls(
            p.meta,
            p.memory_bank,
            runner,
            threads,
            p.ivf_centroids,
            p.defect_head,
            p.held_back_patches,
            p.unusual_patches,
            p.align_frame,
        )
