"""A check of the good training images: those unlike the others.

A folder of "good" parts often holds a few that are not: a defective part that slipped in, a
photo taken at another zoom, light or position. PatchCore learns whatever the good images show, so
a defect among them teaches the memory bank that this defect is normal, and a rare view raises the
threshold for every part. Training therefore scores *every* good image as a new part would be
scored (against the memory bank less the patches taken from that image: held-back images as for
the threshold, the others the same way) and lists the highest, for a person to look at: those
above the model's threshold, or the top 5% when fewer are (at most 20). Each is either not a good
part (remove it and train again) or a normal view the model has seen too few times (collect more
photos like it), or simply the tail of a clean set. Nothing is removed automatically.

The check needs no labels and runs on the patch distances training computes anyway, plus one
search of the images that built the bank with the model's own search (:func:`scored_as_new`).
With a defect head (labelled masks) those images' patches are scored by the head beside their
distances, as new parts are (the head learns from the held-back images, never from them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from aion.solutions.inspection.coarse import search_grid
from aion.solutions.inspection.knn import distances_excluding

if TYPE_CHECKING:
    from aion.solutions.inspection.model import InspectionModel

#: At most this many images are listed (and their heat maps kept in the model file) ...
MAX_UNUSUAL = 20
#: ... those above the threshold, or at least this share of the highest (docs/benchmarks.md,
#: twenty-fourth session: of the defect images planted among the good ones, 1-4 per draw scored
#: above the threshold and 3-4 were in the list)
REVIEW_SHARE = 0.05


@dataclass(frozen=True)
class UnusualGood:
    """A good training image among the highest scores as a new part (:func:`unusual`)."""

    name: str  # where it lies in the data (``ImageItem.member``: ``train/good/a.png``, ``ok/a.png``)
    fingerprint: str  # ``data.fingerprint`` of its file
    score: float  # raw image score, against the memory bank less its own patches
    held_back: bool  # held back for the threshold (else: one of the images that built the bank)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UnusualGood:
        return cls(str(d["name"]), str(d["fingerprint"]), float(d["score"]), bool(d["held_back"]))


def unusual(
    scores: np.ndarray, threshold: float, limit: int = MAX_UNUSUAL, share: float = REVIEW_SHARE
) -> np.ndarray:
    """Indices of the highest ``scores``, highest first: those above ``threshold`` or among the
    top ``share`` of them (at least one), at most ``limit``.

    >>> unusual(np.array([0.2, 3.0, 1.5, 0.9, 2.0]), 1.0).tolist()  # three above the threshold
    [1, 4, 2]
    >>> unusual(np.arange(100.0), 1000.0).tolist()  # none above: the top 5%
    [99, 98, 97, 96, 95]
    >>> unusual(np.array([0.2, 3.0, 1.5]), 1.0, limit=1).tolist(), unusual(np.zeros(0), 1.0).tolist()
    ([1], [])
    """
    n = max(int((scores > threshold).sum()), math.ceil(share * len(scores)))
    return np.argsort(-scores, kind="stable")[: min(n, limit)]


def rows_owned(fit_rows: np.ndarray, n_patches: int, n_bank: int) -> np.ndarray:
    """Owner of each memory-bank row for the images that built it: the image index of each of the
    first ``len(fit_rows)`` rows (``fit_rows`` index the fit images' patches, ``n_patches`` per
    image), -1 for the rows after them (taken from held-back images).

    >>> rows_owned(np.array([0, 3, 5, 8]), 4, 6).tolist()
    [0, 0, 1, 2, -1, -1]
    """
    owner = np.full(n_bank, -1, dtype=np.int64)
    owner[: len(fit_rows)] = np.asarray(fit_rows) // n_patches
    return owner


def scored_as_new(
    feats: np.ndarray,
    bank: np.ndarray,
    owner: np.ndarray,
    grid: int,
    level: float | None,
    search: Callable[[np.ndarray], np.ndarray] | None = None,
    progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """Patch distances ``(N, grid, grid)`` of each image's features ``(N, grid * grid, D)`` to the
    ``bank`` less the rows ``owner`` gives to that image (its index), searched as the model searches
    new parts: coarse to fine (``coarse.search_grid``) when ``level`` is given, else every patch.

    ``search`` (query rows -> distance to the nearest bank row: the model's own search, an inverted
    file) finds each patch's nearest row; only where one of the image's own rows is as near is the
    patch measured again, exactly, against the bank less them. Without it every patch is measured
    exactly.

    >>> bank = np.array([[0.0], [1.0], [5.0]], np.float32)
    >>> feats = np.ones((2, 4, 1), np.float32)
    >>> scored_as_new(feats, bank, np.array([-1, 0, 1]), 2, None)[:, 0, 0].tolist()
    [1.0, 0.0]
    >>> nearest = lambda q: np.abs(q[:, 0] - 1.0)  # row 1 is every patch's nearest
    >>> scored_as_new(feats, bank, np.array([-1, 0, 1]), 2, 0.5, nearest)[:, 1, 1].tolist()
    [1.0, 0.0]
    """
    report = progress or (lambda fraction: None)
    rows = np.ascontiguousarray(bank, dtype=np.float32)
    rows_sq = (rows * rows).sum(1)
    out = np.empty((len(feats), grid, grid), dtype=np.float32)
    for i, f in enumerate(feats):
        own = np.flatnonzero(owner == i)

        def measure(q: np.ndarray, own: np.ndarray = own) -> np.ndarray:
            if search is None:
                return distances_excluding(q, rows, rows_sq, own)
            d = search(q)
            if not len(own):
                return d
            # the distance to its nearest own row, from the differences (as ``search`` measures the
            # row it found: the expanded form loses the small distances to rounding)
            near_own = np.full(len(q), np.inf, dtype=np.float32)
            for r in rows[own]:
                diff = q - r
                np.minimum(near_own, np.einsum("ij,ij->i", diff, diff), out=near_own)
            mine = np.sqrt(near_own) <= d * (1.0 + 1e-4) + 1e-6  # the nearest found may be its own
            if mine.any():
                d[mine] = distances_excluding(q[mine], rows, rows_sq, own)
            return d

        q = np.ascontiguousarray(f, dtype=np.float32)
        if level is None:
            out[i] = measure(q).reshape(grid, grid)
        else:
            out[i] = search_grid(measure, q.reshape(1, grid, grid, -1), level)[0]
        report((i + 1) / len(feats))
    return out


def sets_threshold(found: Sequence[UnusualGood], frr_threshold: float | None) -> int | None:
    """Index in ``found`` of the held-back image whose score is the target-rate threshold
    (``threshold.frr_threshold`` is one of the held-back scores): if that image is a defective
    part, the threshold is too high for every part. ``None`` when it is not listed.

    >>> found = [UnusualGood("a", "fa", 5.0, False), UnusualGood("b", "fb", 3.12346, True)]
    >>> sets_threshold(found, 3.123456), sets_threshold(found, 4.0), sets_threshold(found, None)
    (1, None, None)
    """
    if frr_threshold is None:
        return None
    for i, u in enumerate(found):
        if u.held_back and abs(u.score - frr_threshold) <= 1e-5 * max(1.0, abs(frr_threshold)):
            return i
    return None


def check(
    names: Sequence[str],
    fingerprints: Sequence[str],
    scores: np.ndarray,
    held_back: np.ndarray,
    threshold: float,
    limit: int = MAX_UNUSUAL,
) -> tuple[list[UnusualGood], np.ndarray]:
    """The good images to check (:func:`unusual`: above ``threshold`` or the top share, highest
    first) as :class:`UnusualGood`, and their indices.

    >>> found, idx = check(["a", "b", "c"], ["fa", "fb", "fc"], np.array([0.5, 2.5, 1.2]),
    ...                    np.array([True, False, False]), 1.0)
    >>> [(u.name, u.score, u.held_back) for u in found], idx.tolist()
    ([('b', 2.5, False), ('c', 1.2, False)], [1, 2])
    """
    idx = unusual(np.asarray(scores, dtype=np.float64), threshold, limit)
    found = [
        UnusualGood(names[i], fingerprints[i], round(float(scores[i]), 5), bool(held_back[i])) for i in idx
    ]
    return found, idx


def check_images(
    scorer: InspectionModel,
    cal_patches: np.ndarray,
    fit_patches: np.ndarray | None,
    cal_scores: np.ndarray,
    names: list[str],
    fingerprints: list[str],
    n_fit: int,
    n_held: int,
    threshold: float,
) -> tuple[list[UnusualGood], np.ndarray | None]:
    """The good images to check (:func:`check`) and their patch scores ``(n, grid, grid)`` (heat
    maps for reports): the calibration images at their scores, and the images that built the bank
    (``fit_patches``, when searched) scored the same way."""
    first = n_fit if n_held else 0  # calibration rows of ``names``: held back, or every image
    cal = slice(first, first + len(cal_scores))
    parts, scores = [cal_patches], [cal_scores]
    sel_names, sel_fps = names[cal], fingerprints[cal]
    held = [True] * len(cal_scores)
    if fit_patches is not None:
        parts.append(fit_patches)
        step = 64  # anomaly maps a few at a time: 256 x 256 floats each
        scores.append(
            np.concatenate(
                [
                    scorer.image_scores(scorer.anomaly_maps(fit_patches[i : i + step]))
                    for i in range(0, n_fit, step)
                ]
            )
        )
        sel_names, sel_fps = sel_names + names[:n_fit], sel_fps + fingerprints[:n_fit]
        held += [False] * n_fit
    found, idx = check(sel_names, sel_fps, np.concatenate(scores), np.array(held), threshold)
    if not found:
        return [], None
    return found, np.concatenate(parts)[idx].astype(np.float16)
