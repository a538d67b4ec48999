"""Training the defect head beside the memory bank (``head.py``) from a few labelled defect masks.

The head learns from the held-back good images (their distances measured as for new parts) and
the labelled defect images with masks. Its logits for calibration come from heads fitted without
each image (:func:`~.head.cross_fitted`), so the threshold and the good images' spread are set as
on new parts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from aion.solutions.inspection.area import InspectionArea
from aion.solutions.inspection.combine import CombineRule, combine
from aion.solutions.inspection.data import ImageItem
from aion.solutions.inspection.errors import BadImageError
from aion.solutions.inspection.head import (
    DEFECT_COVER,
    MIN_HEAD_IMAGES,
    UNSURE,
    DefectHead,
    cross_fitted,
    n_head_images,
    patch_cover,
)
from aion.solutions.inspection.model import InspectionModel
from aion.solutions.inspection.pixelmetrics import PixelMetrics

log = logging.getLogger(__name__)


@dataclass
class HeadFit:
    """A fitted head, its settings for ``meta.json`` and the calibration images' patch scores."""

    head: DefectHead
    settings: dict[str, Any]  # DefectHead.to_dict() and the standardisation (``combine``)
    keys: list[str]  # ImageItem.key of the defect images it learned from
    good_patches: np.ndarray  # (held-back good images, g, g): combined, out-of-fold
    defect_patches: np.ndarray  # (defect images, g, g): combined, out-of-fold
    defect_bank: np.ndarray  # (defect images, g, g): the bank's distances alone
    masks: np.ndarray  # (defect images, S, S) bool: their masks at model resolution

    def pixel_gain(self, scorer: InspectionModel, good_bank: np.ndarray) -> dict[str, float]:
        """Pixel AUROC and AUPRO of the calibration images (held-back good ones and the masked
        defects) from the bank's map alone and from the combined map, the head's part out of fold:
        the head's gain measured on images no head that scored them learned from."""
        out: dict[str, float] = {}
        empty = np.zeros(self.masks.shape[1:], dtype=bool)
        for name, good, bad in (
            ("bank", good_bank, self.defect_bank),
            ("head", self.good_patches, self.defect_patches),
        ):
            pixels = PixelMetrics()
            for m in scorer.anomaly_maps(good):
                pixels.add(empty, m, scorer.ignored_pixels)
            for mask, m in zip(self.masks, scorer.anomaly_maps(bad), strict=True):
                pixels.add(mask, m, scorer.ignored_pixels)
            for key, value in ((f"pixel_auroc_{name}", pixels.auroc()), (f"aupro_{name}", pixels.aupro())):
                if value is not None:
                    out[key] = value
        return out


#: How a head's logits join the bank's distances (:data:`~.combine.COMBINE_RULES`): a soft maximum.
#: On magnetic_tile (5 masks per kind, two draws) it gave pixel AUROC 0.954 / 0.935 against a
#: sum's 0.946 / 0.924, AUPRO alike: a small defect the bank is sure of is no longer diluted by a
#: head that has seen few like it.
COMBINE: CombineRule = "logaddexp"


#: The copies of each masked image the head also learns from (``flips=True``): left-right,
#: upside down, and both; each ``(H, W[, C])`` image or ``(H, W)`` mask -> the same, flipped.
FLIPS: tuple[Callable[[np.ndarray], np.ndarray], ...] = (
    lambda a: a[:, ::-1],
    lambda a: a[::-1],
    lambda a: a[::-1, ::-1],
)


def flipped_inputs(
    scorer: InspectionModel, cuts: list[np.ndarray], flip: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """The graph's input of each of ``cuts`` (the part of a photo the model inspects: its area's
    crop where the model places it), flipped. A flipped copy is of what the model sees, so the
    flipped mask (of the crop) marks the same patches; flipping the whole photo before the crop
    would not, unless the crop is centred in it."""
    flipped = [np.ascontiguousarray(flip(c)) for c in cuts]
    return scorer.batch(flipped, [InspectionArea()] * len(flipped))


#: In a box mask, the cells the bank finds no farther from the good patches than this quantile of
#: the held-back good images' patch distances are of unknown class (:data:`~.head.UNSURE`).
BOX_NORMAL_QUANTILE = 0.9


def unsure_in_boxes(cover: np.ndarray, bank: np.ndarray, boxes: np.ndarray, level: float) -> np.ndarray:
    """``cover`` with the defect cells of box masks (``boxes``: per image, from
    ``ImageItem.mask_is_box``) whose bank distance is at most ``level`` made
    :data:`~.head.UNSURE`: a box also holds the good surface around a thin
    defect, which would teach the head that good surface is a defect.

    >>> cover = np.ones((2, 1, 2), np.float32); bank = np.array([[[0.1, 0.9]], [[0.1, 0.9]]])
    >>> unsure_in_boxes(cover, bank, np.array([True, False]), 0.5).tolist()
    [[[nan, 1.0]], [[1.0, 1.0]]]
    """
    out = cover.copy()
    drop = boxes[:, None, None] & (cover >= DEFECT_COVER) & (bank <= level)
    out[drop] = UNSURE
    return out


def fit_head(
    scorer: InspectionModel,
    items: list[ImageItem],
    images: list[np.ndarray],
    good_feats: np.ndarray,
    good_bank: np.ndarray,
    seed: int = 0,
    batch_size: int = 8,
    flips: bool = True,
    progress: Callable[[float], None] | None = None,
) -> HeadFit | None:
    """Fit the head on the decoded defect ``images`` (with their ``items``' masks) and the
    held-back good images' features and bank distances; ``None`` (logged) when fewer than
    :data:`~.head.MIN_HEAD_IMAGES` of the masks mark a defect patch. With ``flips``, each masked
    image's :data:`FLIPS` join it (in its calibration fold). ``progress`` gets the share done: the
    backbone passes are the first fifth, then each of the head's fits (``cross_fitted``)."""
    report = progress or (lambda fraction: None)
    s, g = scorer.meta.resolution, scorer.meta.grid
    variants = (lambda a: a, *FLIPS) if flips else (lambda a: a,)
    # per variant (the images as given first, then each flip): features, distances, cover
    feats: list[list[np.ndarray]] = [[] for _ in variants]
    bank: list[list[np.ndarray]] = [[] for _ in variants]
    cover: list[list[np.ndarray]] = [[] for _ in variants]
    keys: list[str] = []
    all_masks: list[np.ndarray] = []
    level = float(np.quantile(good_bank, BOX_NORMAL_QUANTILE))
    for start in range(0, len(items), batch_size):
        masks, chosen, boxed = [], [], []
        for it, im in zip(items[start : start + batch_size], images[start : start + batch_size], strict=True):
            where = scorer.place(im).area  # the mask is cropped as the photo is
            try:
                m = it.load_mask((s, s), where if it.mask_member else None)
            except BadImageError as e:
                log.warning("불량 마스크를 건너뜀 / Skipped defect mask: %s", e)
                continue
            if m is not None:
                masks.append(m)
                chosen.append(where.crop_image(im))
                boxed.append(it.mask_is_box)
                keys.append(it.key)
        if not chosen:
            continue
        all_masks += masks
        boxes = np.array(boxed)
        for v, flip in enumerate(variants):
            f = scorer.patch_features(flipped_inputs(scorer, chosen, flip))
            feats[v].append(f)
            b = scorer.bank_scores(f)
            bank[v].append(b)
            cover[v].append(
                unsure_in_boxes(patch_cover(np.stack([flip(m) for m in masks]), g), b, boxes, level)
            )
        report(0.2 * min(1.0, (start + batch_size) / len(items)))
    n_defect = n_head_images(np.concatenate(cover[0])) if cover[0] else 0
    if n_defect < MIN_HEAD_IMAGES:
        log.warning(
            "불량 헤드 없음: 불량 영역이 표시된 마스크 %d장 (%d장 이상 필요) / "
            "No defect head: %d masks mark a defect patch (%d or more needed)",
            n_defect,
            MIN_HEAD_IMAGES,
            n_defect,
            MIN_HEAD_IMAGES,
        )
        return None
    n_good, n_masked = len(good_feats), len(keys)
    all_bank = np.concatenate([good_bank, *(b for per in bank for b in per)])
    all_cover = np.concatenate([np.zeros_like(good_bank), *(c for per in cover for c in per)])
    # an image and its flips share a calibration fold: no head scores a copy of what it learned
    groups = np.concatenate([np.arange(n_good), np.tile(n_good + np.arange(n_masked), len(variants))])
    head, logits = cross_fitted(
        np.concatenate([good_feats, *(f for per in feats for f in per)]),
        all_bank,
        all_cover,
        DefectHead(seed=seed),
        groups=groups,
        progress=lambda fraction: report(0.2 + 0.8 * fraction),
    )
    stats = {
        "bank_mean": float(good_bank.mean()),
        "bank_std": float(good_bank.std()) or 1.0,
        "head_mean": float(logits[:n_good].mean()),
        "head_std": float(logits[:n_good].std()) or 1.0,
    }
    combined = combine(all_bank, logits, **stats, rule=COMBINE)
    given = slice(n_good, n_good + n_masked)  # the masked images as given
    return HeadFit(
        head,
        {**head.to_dict(), "flips": flips, **stats, "combine": COMBINE},
        keys,
        combined[:n_good],
        combined[given],
        all_bank[given],
        np.stack(all_masks).astype(bool),
    )
