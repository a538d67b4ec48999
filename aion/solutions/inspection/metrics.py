"""Detection metrics in numpy: AUROC (image and pixel), AUPRO, F1 and the confusion at a threshold."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from aion.solutions.inspection.postprocess import label_components


def auroc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count one half); ``None`` when one class is missing.

    >>> auroc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    ranks = np.empty(len(s), dtype=np.float64)
    # average ranks over ties
    _, first, counts = np.unique(s_sorted, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def aupro(
    masks: list[np.ndarray], maps: list[np.ndarray], max_fpr: float = 0.3, steps: int = 300
) -> float | None:
    """Area under the per-region-overlap curve up to ``max_fpr``, normalised to 0-1 (MVTec AD),
    from every pixel held at once (the reference for :meth:`.PixelMetrics.aupro`, which
    ``evaluate`` uses; pixel AUROC is :meth:`.PixelMetrics.auroc`)."""
    normal = np.concatenate([m[~g].ravel() for g, m in zip(masks, maps, strict=True)])
    regions: list[np.ndarray] = []
    for g, m in zip(masks, maps, strict=True):
        if not g.any():
            continue
        labels, n = label_components(g)
        regions += [np.sort(m[labels == i]) for i in range(1, n + 1)]
    if not regions or len(normal) == 0:
        return None
    normal = np.sort(normal)
    fprs = np.linspace(0.0, max_fpr, steps + 1)
    # threshold giving each FPR on the normal pixels
    thr = np.quantile(normal, 1.0 - fprs)
    pro = np.mean([1.0 - np.searchsorted(r, thr, side="right") / len(r) for r in regions], axis=0)
    fpr_real = 1.0 - np.searchsorted(normal, thr, side="right") / len(normal)
    area = float(np.trapezoid(pro, fpr_real))
    return area / max_fpr


@dataclass(frozen=True)
class Confusion:
    """Counts with "defect" as the positive class."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def f1(self) -> float | None:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else None

    @property
    def false_reject_rate(self) -> float | None:
        """Share of good parts rejected."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else None

    @property
    def escape_rate(self) -> float | None:
        """Share of defective parts passed."""
        return self.fn / (self.fn + self.tp) if self.fn + self.tp else None

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def confusion(labels: np.ndarray, scores: np.ndarray, threshold: float) -> Confusion:
    """Confusion counts for "score > threshold = defect".

    >>> c = confusion(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.7, 0.2]), 0.5)
    >>> (c.tp, c.fp, c.tn, c.fn), c.f1
    ((1, 1, 1, 1), 0.5)
    """
    y = np.asarray(labels).astype(bool)
    p = np.asarray(scores) > threshold
    return Confusion(int((p & y).sum()), int((p & ~y).sum()), int((~p & ~y).sum()), int((~p & y).sum()))
