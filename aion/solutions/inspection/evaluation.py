"""Evaluation of a model on labelled images: AUROC, AUPRO, F1, false-reject and escape rates, speed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aion.solutions.inspection.data import ImageItem, InspectionDataset, fingerprint, load_dataset
from aion.solutions.inspection.errors import BadImageError, DatasetError
from aion.solutions.inspection.images import decode_image
from aion.solutions.inspection.meta import ModelMeta
from aion.solutions.inspection.metrics import auroc, confusion
from aion.solutions.inspection.model import InspectionModel
from aion.solutions.inspection.pixelmetrics import PixelMetrics
from aion.solutions.inspection.postprocess import normalise
from aion.solutions.inspection.predictions import SkippedImage

Progress = Callable[[str, float], None]

#: The keys ``aion inspect evaluate --json`` prints, in this order.
SUMMARY_KEYS = (
    "image_auroc",
    "pixel_auroc",
    "aupro",
    "f1",
    "threshold",
    "ms_per_image",
    "images_per_second",
    "n_images",
)


@dataclass
class ImageResult:
    name: str
    kind: str
    label: int
    raw_score: float
    score: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class EvaluationReport:
    """Metrics at the model's threshold (raw units in ``threshold``; scores 0-1 in ``images``)."""

    image_auroc: float | None
    pixel_auroc: float | None
    aupro: float | None
    f1: float | None
    threshold: float
    ms_per_image: float | None
    images_per_second: float | None
    n_images: int
    confusion: dict[str, int] = field(default_factory=dict)
    false_reject_rate: float | None = None
    escape_rate: float | None = None
    threshold_comparison: dict[str, dict[str, float | None]] = field(default_factory=dict)
    images: list[ImageResult] = field(default_factory=list)
    skipped: list[SkippedImage] = field(default_factory=list)
    # a model with a defect head: the images it learned from are left out (how many), and the
    # memory bank's own map is measured beside the combined one (how much the head gained)
    n_left_out: int = 0
    pixel_auroc_bank: float | None = None
    aupro_bank: float | None = None
    # good images the model trained on (the same file, by fingerprint): ``n_held_back`` of them
    # were held back in training and count at the score they got then, against a bank without
    # them (as new parts); the ``n_in_bank`` others built the bank and are left out
    n_held_back: int = 0
    n_in_bank: int = 0

    def summary(self) -> dict[str, Any]:
        """Exactly the keys of :data:`SUMMARY_KEYS` (``None`` where not measurable)."""
        return {k: getattr(self, k) for k in SUMMARY_KEYS}

    def worst(self, n: int = 5) -> dict[str, list[ImageResult]]:
        """The highest-scoring false rejects and the lowest-scoring escapes."""
        fr = sorted((r for r in self.images if r.label == 0 and not r.passed), key=lambda r: -r.raw_score)
        esc = sorted((r for r in self.images if r.label == 1 and r.passed), key=lambda r: r.raw_score)
        return {"false_rejects": fr[:n], "escapes": esc[:n]}

    def defect_gain(self) -> dict[str, float | None] | None:
        """How much the labelled defects helped: the F1-optimal threshold (set with them) minus the
        target-FRR threshold (set without them), on this data. ``None`` when the model has no F1
        threshold or the data lacks one of the classes."""
        f1t, frrt = self.threshold_comparison.get("f1"), self.threshold_comparison.get("frr")
        if f1t is None or frrt is None or f1t["f1"] is None:
            return None

        def diff(key: str) -> float | None:
            a, b = f1t[key], frrt[key]
            return None if a is None or b is None else round(float(a) - float(b), 6)

        return {
            "f1": diff("f1"),
            "false_reject_rate": diff("false_reject_rate"),
            "escape_rate": diff("escape_rate"),
        }

    def to_dict(self) -> dict[str, Any]:
        d = self.summary()
        d.update(
            confusion=self.confusion,
            false_reject_rate=self.false_reject_rate,
            escape_rate=self.escape_rate,
            threshold_comparison=self.threshold_comparison,
            defect_gain=self.defect_gain(),
            n_left_out=self.n_left_out,
            n_held_back=self.n_held_back,
            n_in_bank=self.n_in_bank,
            pixel_auroc_bank=self.pixel_auroc_bank,
            aupro_bank=self.aupro_bank,
            images=[r.to_dict() for r in self.images],
            skipped=[s.to_dict() for s in self.skipped],
        )
        return d


@dataclass(frozen=True)
class TrainedGood:
    """The good images a model trained on, by file fingerprint (:func:`~.data.fingerprint`).

    Every one is in the memory bank (the held-back ones join it after calibration), so the model
    scores them lower than new parts. Those held back count at the score training measured against
    a bank without them (``held``); the others are left out. Models that do not record their
    images (before the tenth session's files) know none.

    >>> from aion.solutions.inspection.meta import ModelMeta
    >>> meta = ModelMeta("b", 64, (0, 0, 0), (1, 1, 1), 8, 4, 4.0, 1.0, 0.0, train_fingerprints=["a", "b"],
    ...                  calibration={"good_fingerprints": ["b"], "good_scores": [0.7]})
    >>> known = TrainedGood.of(meta)
    >>> known.held.get("b"), known.in_bank("a"), known.in_bank("b"), known.in_bank("c")
    (0.7, True, False, False)
    """

    every: frozenset[str]
    held: dict[str, float]

    @classmethod
    def of(cls, meta: ModelMeta) -> TrainedGood:
        cal = meta.calibration
        # no fingerprints when a tiny set calibrated on its own bank images: then none are held
        held = zip(cal.get("good_fingerprints", []), cal.get("good_scores", []), strict=False)
        return cls(frozenset(meta.train_fingerprints), {fp: float(v) for fp, v in held})

    def in_bank(self, fp: str) -> bool:
        """Whether the image built the bank (and was not held back): left out of evaluations."""
        return fp in self.every and fp not in self.held


def _items(ds: InspectionDataset) -> list[ImageItem]:
    items = ds.test or ds.train
    if not items:
        raise DatasetError(f"평가할 이미지가 없음: {ds.root} / No images to evaluate in {ds.root}")
    return items


def evaluate(
    model: InspectionModel,
    data: InspectionDataset | Path | str,
    threshold: float | None = None,
    progress: Progress | None = None,
    batch_size: int = 8,
    items: list[ImageItem] | None = None,
) -> EvaluationReport:
    """Score every test image of ``data`` and compute the metrics (masks where they exist). The
    images a defect head learned from (``meta.head_images``) are left out: they would flatter it.
    So are the good images the model trained on (``meta.train_fingerprints``: the same file under
    any name), except those held back in training, which count (image level only) at the score
    they got then (``meta.calibration``), as a new part would score."""
    ds = data if isinstance(data, InspectionDataset) else load_dataset(Path(data))
    items = items if items is not None else _items(ds)
    learned = set(model.meta.head_images)
    n_all = len(items)
    items = [it for it in items if it.key not in learned]
    if not items:
        raise DatasetError(
            f"불량 헤드가 학습한 이미지 말고는 평가할 이미지가 없음: {ds.root} / "
            f"No images to evaluate in {ds.root} besides those the defect head learned from"
        )
    t = model.meta.threshold if threshold is None else float(threshold)
    s = model.meta.resolution
    results: list[ImageResult] = []
    skipped: list[SkippedImage] = []
    pixels = PixelMetrics()  # pixel AUROC and AUPRO, counted image by image
    bank_pixels = PixelMetrics() if model.defect_head_ is not None else None  # the bank's map alone
    known = TrainedGood.of(model.meta)
    n_held_back = n_in_bank = 0

    def result(it: ImageItem, raw: float) -> ImageResult:
        r = float(raw)
        return ImageResult(
            it.name, it.kind, it.label, r, float(normalise(r, t, model.meta.score_low)), r <= t
        )

    model_seconds = 0.0
    for start in range(0, len(items), batch_size):
        batch_items, images, areas, batch_masks = [], [], [], []
        for it in items[start : start + batch_size]:
            try:
                blob = it.file_bytes()
                fp = fingerprint(blob) if known.every and it.label == 0 else ""
                if fp in known.held:
                    results.append(result(it, known.held[fp]))
                    n_held_back += 1
                    continue
                if known.in_bank(fp):
                    n_in_bank += 1
                    continue
                image = decode_image(blob, it.name)
            except BadImageError as e:
                skipped.append(SkippedImage(it.name, e.reason))
                continue
            t0 = time.perf_counter()
            where = model.place(image)  # where the model inspects it (an area may follow the part)
            model_seconds += time.perf_counter() - t0
            try:  # the mask cropped as the photo is
                mask = it.load_mask((s, s), where.area if it.mask_member else None)
            except BadImageError as e:  # the image still counts; only its pixels do not
                skipped.append(SkippedImage(e.name, e.reason))
                mask = None
            images.append(image)
            areas.append(where.area)
            batch_masks.append(mask)
            batch_items.append(it)
        if not images:
            continue
        t0 = time.perf_counter()
        raw, maps, bank = model.score_batch(images, areas)
        model_seconds += time.perf_counter() - t0
        if bank_pixels is not None:
            for g, m in zip(batch_masks, model.anomaly_maps(bank), strict=True):
                if g is not None:
                    bank_pixels.add(g, m, model.ignored_pixels)
        for it, r, m, g in zip(batch_items, raw, maps, batch_masks, strict=True):
            results.append(result(it, r))
            if g is not None:
                pixels.add(g, m, model.ignored_pixels)
        if progress is not None:
            progress("evaluate", min(1.0, (start + batch_size) / len(items)))

    labels = np.array([r.label for r in results])
    raw_scores = np.array([r.raw_score for r in results])
    n = len(results)
    pixel_auroc = aupro_v = bank_auroc = bank_aupro = None
    if pixels.n_regions:
        pixel_auroc = pixels.auroc()
        aupro_v = pixels.aupro()
        if bank_pixels is not None:
            bank_auroc, bank_aupro = bank_pixels.auroc(), bank_pixels.aupro()
    conf = confusion(labels, raw_scores, t)
    comparison = {}
    for name, value in model.meta.thresholds.items():
        c = confusion(labels, raw_scores, value)
        comparison[name] = {
            "threshold": value,
            "f1": c.f1,
            "false_reject_rate": c.false_reject_rate,
            "escape_rate": c.escape_rate,
        }
    ms = model_seconds * 1000 / n if n else None
    return EvaluationReport(
        image_auroc=auroc(labels, raw_scores),
        pixel_auroc=pixel_auroc,
        aupro=aupro_v,
        f1=conf.f1 if labels.any() else None,
        threshold=t,
        ms_per_image=ms,
        images_per_second=1000.0 / ms if ms else None,
        n_images=n,
        confusion=conf.to_dict(),
        false_reject_rate=conf.false_reject_rate,
        escape_rate=conf.escape_rate,
        threshold_comparison=comparison,
        images=results,
        skipped=skipped,
        n_left_out=n_all - len(items),
        n_held_back=n_held_back,
        n_in_bank=n_in_bank,
        pixel_auroc_bank=bank_auroc,
        aupro_bank=bank_aupro,
    )
