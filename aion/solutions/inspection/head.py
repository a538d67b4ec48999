"""A supervised defect head beside the memory bank, trained on a few images with defect masks.

The memory bank answers "is this patch unlike every good patch"; it cannot learn that a
moderate, large change (an uneven finish, a faint stain) is a defect when good parts vary as much
locally. A few labelled masks can teach that. :class:`DefectHead` is a logistic regression over
each patch's

* backbone feature, and the mean feature of the 5 x 5, 9 x 9, 17 x 17 and 33 x 33 patches around
  it (what the patch is, and what surrounds it: a large, soft-edged defect such as an uneven
  finish is told from the good surface by the wider windows);
* the mean feature of the band of 3 rows across the whole image through it, and of the band of
  3 columns (``strips``): a band, seam or change of finish that runs across the part has a sharp
  edge across the band and none along it, which square windows blur;
* nearest-neighbour distance, and the same means of it.

Format 5 and 6 heads (still read) also had the whole image's mean (``image_mean``); it is off by
default, since it lifts every patch of an image that looks like a defect image, the normal ones
too.

Every input is a mean of linear maps, so the head is cheap at inference: the features are
projected once (``(P, D) @ (D, K)`` for ``K`` windows plus the patch itself) and the window means
are taken of ``K - 1`` scalar maps (:func:`window_mean`). Fitting minimises the class-balanced
logistic loss plus an L2 penalty with L-BFGS (scipy) on standardised inputs; the standardisation
is folded into the stored weights.

Constructor arguments are stored under their own names (``l2``, ``radii``, ``strips``,
``image_mean``, ``max_negatives``, ``max_positives``, ``seed``); learned state ends in ``_``
(``weights_``, ``score_weights_``, ``bias_``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from aion.solutions.inspection.errors import InspectionError

#: A patch is a defect patch when at least this share of its cell is inside the mask.
DEFECT_COVER = 0.5

#: The cover of a patch whose class is unknown (``fit`` uses it as neither defect nor normal).
UNSURE = float("nan")


#: A window of patches: its half-height and half-width in patches (``None``: the whole axis).
Window = tuple[int | None, int | None]


def window_mean(maps: np.ndarray, rows: int | None, cols: int | None) -> np.ndarray:
    """Mean of each ``(2 rows + 1) x (2 cols + 1)`` window of ``maps`` ``(N, H, W[, C])``
    (``None``: the whole axis), windows clipped at the border (the mean of the cells inside):
    ``A_h @ map @ A_w.T`` with each ``A`` the row-normalised band of ones, so the clipped mean is
    separable.

    >>> m = np.arange(9, dtype=np.float32).reshape(1, 3, 3)
    >>> window_mean(m, 1, 1)[0].round(2).tolist()
    [[2.0, 2.5, 3.0], [3.5, 4.0, 4.5], [5.0, 5.5, 6.0]]
    >>> window_mean(m, 0, None)[0].tolist()  # the mean of each row
    [[1.0, 1.0, 1.0], [4.0, 4.0, 4.0], [7.0, 7.0, 7.0]]
    """
    a_h, a_w = _band(maps.shape[1], rows), _band(maps.shape[2], cols)
    if maps.ndim == 3:
        return np.matmul(np.matmul(a_h, maps), a_w.T)
    out = np.einsum("ij,njwc->niwc", a_h, maps, optimize=True)
    return np.einsum("kw,niwc->nikc", a_w, out, optimize=True).astype(np.float32)


def _band(n: int, r: int | None) -> np.ndarray:
    """``(n, n)``: row ``i`` averages cells ``i - r .. i + r`` that lie inside ``0 .. n - 1``
    (``None``: all of them)."""
    if r is None:
        return np.full((n, n), 1.0 / n, dtype=np.float32)
    i = np.arange(n)
    band = (np.abs(i[:, None] - i[None, :]) <= r).astype(np.float32)
    return band / band.sum(axis=1, keepdims=True)


def head_windows(radii: tuple[int, ...], strips: tuple[int, ...], image_mean: bool) -> list[Window]:
    """The windows a head averages over, in the order of its weights: the square ones of
    ``radii``, then for each of ``strips`` its band of rows and its band of columns, then (with
    ``image_mean``) the whole image.

    >>> head_windows((2, 4), (1,), True)
    [(2, 2), (4, 4), (1, None), (None, 1), (None, None)]
    """
    out: list[Window] = [(r, r) for r in radii]
    for s in strips:
        out += [(s, None), (None, s)]
    return out + ([(None, None)] if image_mean else [])


def patch_cover(masks: np.ndarray, grid: int) -> np.ndarray:
    """Share of each patch cell inside the mask: ``(N, S, S)`` bool -> ``(N, grid, grid)``.

    >>> m = np.zeros((1, 4, 4), bool); m[0, :2, :2] = True
    >>> patch_cover(m, 2)[0].tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    n, s, _ = masks.shape
    c = s // grid
    return masks.reshape(n, grid, c, grid, c).mean(axis=(2, 4)).astype(np.float32)


def _inputs(feats: np.ndarray, scores: np.ndarray, windows: list[Window]) -> np.ndarray:
    """The head's inputs of every patch: ``(N, P, D)`` features and ``(N, g, g)`` distances ->
    ``(N * P, K (D + 1))`` with ``K = len(windows) + 1``: the feature and its mean over each
    window; then the same ``K`` of the distance."""
    n, p, d = feats.shape
    g = scores.shape[1]
    x = feats.reshape(n, g, g, d)
    s = scores.reshape(n, g, g, 1)
    parts = []
    for m in (x, s):
        parts += [m, *(window_mean(m, rows, cols) for rows, cols in windows)]
    return np.concatenate(parts, axis=3).reshape(n * p, -1).astype(np.float32)


def fit_rows(
    defect: np.ndarray, max_negatives: int, max_positives: int, seed: int = 0, known: np.ndarray | None = None
) -> np.ndarray:
    """Sorted indices of the patches a head is fitted on: every patch of a class with at most its
    cap, else a random sample of that many (normal patches drawn first, with ``seed``). The
    input matrix is 4.3 KB per row at the defaults (1,071 float32 inputs), so the caps bound memory
    (to about 0.64 GB) however many masks are given. Patches outside ``known`` (when given) are in
    neither class.

    >>> defect = np.array([1, 0, 0, 1, 0, 0, 0, 1], bool)
    >>> fit_rows(defect, 2, 5).size, fit_rows(defect, 2, 5)[defect[fit_rows(defect, 2, 5)]].tolist()
    (5, [0, 3, 7])
    >>> fit_rows(defect, 9, 9, known=np.array([1, 1, 0, 1, 1, 1, 1, 0], bool)).tolist()
    [0, 1, 3, 4, 5, 6]
    """
    rng = np.random.default_rng(seed)
    normal = ~defect if known is None else ~defect & known
    positive = defect if known is None else defect & known
    parts = []
    for idx, cap in ((np.flatnonzero(normal), max_negatives), (np.flatnonzero(positive), max_positives)):
        parts.append(rng.choice(idx, cap, replace=False) if len(idx) > cap else idx)
    return np.sort(np.concatenate(parts))


def _column_stats(x: np.ndarray, rows: int = 32768) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (+ 1e-6) of each column, a block of rows at a time (no
    float64 copy of ``x``).

    >>> x = np.array([[1.0, 2.0], [3.0, 2.0]], np.float32)
    >>> [v.round(4).tolist() for v in _column_stats(x, rows=1)]
    [[2.0, 2.0], [1.0, 0.0]]
    """
    total = np.zeros(x.shape[1])
    squares = np.zeros(x.shape[1])
    for s in range(0, len(x), rows):
        block = x[s : s + rows].astype(np.float64)
        total += block.sum(axis=0)
        squares += (block * block).sum(axis=0)
    mu = total / len(x)
    return mu, np.sqrt(np.maximum(squares / len(x) - mu * mu, 0.0)) + 1e-6


@dataclass(eq=False)
class DefectHead:
    """Logistic regression from patch features and distances to "this patch is a defect".

    ``fit(feats, scores, cover)`` takes ``(N, P, D)`` features, ``(N, g, g)`` distances and
    ``(N, g, g)`` mask cover; ``score(feats, scores)`` gives ``(N, g, g)`` logits.

    >>> rng = np.random.default_rng(0)
    >>> feats = rng.normal(size=(6, 16, 3)).astype(np.float32)
    >>> cover = np.zeros((6, 4, 4), np.float32); cover[:3, :2, :2] = 1.0
    >>> feats.reshape(6, 4, 4, 3)[:3, :2, :2, 0] += 4.0  # the defect shows in channel 0
    >>> head = DefectHead().fit(feats, np.zeros((6, 4, 4), np.float32), cover)
    >>> logits = head.score(feats, np.zeros((6, 4, 4), np.float32))
    >>> bool(logits[cover > 0].min() > logits[cover == 0].max())
    True
    """

    l2: float = 1e-2
    radii: tuple[int, ...] = (2, 4, 8, 16)  # square windows: (2r + 1) x (2r + 1) patches
    strips: tuple[int, ...] = (1,)  # bands of 2s + 1 rows (and columns) across the whole image
    image_mean: bool = False  # the whole image's mean as an input too (format 5 and 6 heads)
    # normal and defect patches fitted on, at most (sampled): they bound memory and time (each
    # L-BFGS step reads the whole input matrix twice). Half of the earlier 200,000 / 100,000 gave
    # the same figures on magnetic_tile (two draws of 5 masks per kind) in 40% less fitting time
    max_negatives: int = 100_000
    max_positives: int = 50_000
    seed: int = 0
    # (len(windows) + 1, D): the weights of the feature and of its mean over each window
    weights_: np.ndarray | None = field(default=None, repr=False)
    score_weights_: list[float] = field(default_factory=list)  # the same of the distance
    bias_: float = 0.0

    def fit(self, feats: np.ndarray, scores: np.ndarray, cover: np.ndarray) -> DefectHead:
        from scipy.optimize import minimize

        flat = cover.reshape(-1)
        known = ~np.isnan(flat)  # NaN: a patch of unknown class (UNSURE), fitted as neither
        defect = flat >= DEFECT_COVER
        if not 0 < defect.sum() < known.sum():
            raise InspectionError(
                "불량 헤드 학습에는 불량 영역과 정상 영역이 모두 필요함 / "
                "The defect head needs both defect and normal patches in its training masks"
            )
        rows = fit_rows(defect, self.max_negatives, self.max_positives, self.seed, known)
        x = self._input_rows(feats, scores, rows)
        y = defect[rows].astype(np.float64)
        mu, sd = _column_stats(x)
        z = x  # standardised in place: the inputs are the largest array of training
        z -= mu.astype(np.float32)
        z /= sd.astype(np.float32)
        pos = y.mean()
        w = np.where(y > 0, 0.5 / pos, 0.5 / (1 - pos)) / len(y)  # each class half the loss

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            coef, b = theta[:-1], theta[-1]
            t = z @ coef.astype(np.float32) + b
            # log(1 + exp(-m)) with m = (2y - 1) t, stably
            m = (2 * y - 1) * t
            value = float(np.sum(w * np.logaddexp(0.0, -m))) + 0.5 * self.l2 * float(coef @ coef)
            dt = -w * (2 * y - 1) / (1.0 + np.exp(np.clip(m, -50, 50)))
            grad = np.empty_like(theta)
            grad[:-1] = z.T @ dt.astype(np.float32) + self.l2 * coef
            grad[-1] = dt.sum()
            return value, grad

        res = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
        coef = res.x[:-1] / sd  # fold the standardisation into the weights
        d, k = feats.shape[2], len(self.windows) + 1
        self.weights_ = coef[: k * d].reshape(k, d).astype(np.float32)
        self.score_weights_ = [float(v) for v in coef[k * d :]]
        self.bias_ = float(res.x[-1] - coef @ mu)
        return self

    def _input_rows(
        self, feats: np.ndarray, scores: np.ndarray, rows: np.ndarray, images: int = 32
    ) -> np.ndarray:
        """The inputs (:func:`_inputs`) of the patches ``rows`` (sorted flat indices), built a
        block of ``images`` at a time into one array: only the chosen rows of the wide input
        matrix are kept, and never twice (the fit's largest array)."""
        p = feats.shape[1]
        out = np.empty((len(rows), (len(self.windows) + 1) * (feats.shape[2] + 1)), dtype=np.float32)
        for start in range(0, len(feats), images):
            lo, hi = np.searchsorted(rows, [start * p, (start + images) * p])
            if hi > lo:
                x = _inputs(feats[start : start + images], scores[start : start + images], self.windows)
                out[lo:hi] = x[rows[lo:hi] - start * p]
        return out

    def score(self, feats: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Logit of "defect" of every patch: ``(N, P, D)``, ``(N, g, g)`` -> ``(N, g, g)``."""
        if self.weights_ is None:
            raise InspectionError("불량 헤드가 학습되지 않음 / The defect head is not fitted")
        n, p, d = feats.shape
        g, k = scores.shape[1], len(self.windows) + 1
        u = (feats.reshape(n * p, d) @ self.weights_.T).reshape(n, g, g, k)  # one product for all
        a = self.score_weights_
        out = u[..., 0] + a[0] * scores + self.bias_
        for j, (rows, cols) in enumerate(self.windows, start=1):
            out += window_mean(u[..., j] + a[j] * scores, rows, cols)
        return out.astype(np.float32)

    @property
    def windows(self) -> list[Window]:
        """The windows this head averages over (:func:`head_windows`)."""
        return head_windows(self.radii, self.strips, self.image_mean)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the weights matrix (stored beside, as ``defect_head.npy``)."""
        return {
            "l2": self.l2,
            "radii": list(self.radii),
            "strips": list(self.strips),
            "image_mean": self.image_mean,
            "max_negatives": self.max_negatives,
            "max_positives": self.max_positives,
            "seed": self.seed,
            "score_weights": self.score_weights_,
            "bias": self.bias_,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], weights: np.ndarray) -> DefectHead:
        """The head of :meth:`to_dict` with its ``weights`` matrix. Format 5 and 6 heads stored no
        ``strips`` (they had none) and no ``image_mean`` (they had it)."""
        head = cls(
            l2=float(d.get("l2", 1e-2)),
            radii=tuple(int(r) for r in d.get("radii", [2, 4])),
            strips=tuple(int(s) for s in d.get("strips", [])),
            image_mean=bool(d.get("image_mean", True)),
            max_negatives=int(d.get("max_negatives", 200_000)),  # a file without them was fitted so
            max_positives=int(d.get("max_positives", 100_000)),
            seed=int(d.get("seed", 0)),
        )
        k = len(head.windows) + 1
        weights = np.asarray(weights, dtype=np.float32)
        if weights.ndim != 2 or weights.shape[0] != k or len(d["score_weights"]) != k:
            raise InspectionError(
                f"불량 헤드 가중치 모양 {weights.shape}이 창 설정과 맞지 않음 (반경 {list(head.radii)}, "
                f"띠 {list(head.strips)}, 이미지 평균 {head.image_mean}) / "
                f"Defect head weights of shape {weights.shape} do not match its radii {list(head.radii)}, "
                f"strips {list(head.strips)} and image mean {head.image_mean} "
                f"(expected {k} rows and {k} distance weights)"
            )
        head.weights_ = weights
        head.score_weights_ = [float(v) for v in d["score_weights"]]
        head.bias_ = float(d["bias"])
        return head


#: Fewest labelled images with a defect patch (mask cover >= :data:`DEFECT_COVER` in a cell) for
#: a defect head: each of the two calibration folds must learn from two or more.
MIN_HEAD_IMAGES = 4


def cross_fitted(
    feats: np.ndarray,
    scores: np.ndarray,
    cover: np.ndarray,
    head: DefectHead,
    folds: int = 2,
    groups: np.ndarray | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[DefectHead, np.ndarray]:
    """``head`` fitted on every image, and each image's logits from a copy fitted without it.

    Images are dealt to ``folds`` folds in turn (the images with a defect patch first, so each
    fold has some); each fold is scored by a head fitted on the others. Images of one ``groups``
    value (an image and its flipped copies) share a fold, dealt by their first image. Calibration
    (the threshold, the good images' spread) then sees the head as it will see new parts, not the
    images it learned from.

    >>> rng = np.random.default_rng(0)
    >>> feats = rng.normal(size=(8, 16, 3)).astype(np.float32)
    >>> cover = np.zeros((8, 4, 4), np.float32); cover[:4, :2, :2] = 1.0
    >>> feats.reshape(8, 4, 4, 3)[:4, :2, :2, 0] += 4.0
    >>> fitted, logits = cross_fitted(feats, np.zeros((8, 4, 4), np.float32), cover, DefectHead())
    >>> bool(np.median(logits[cover > 0]) > np.percentile(logits[cover == 0], 90)), logits.shape
    (True, (8, 4, 4))
    """
    group = np.arange(len(cover)) if groups is None else np.asarray(groups)
    first, inverse = np.unique(group, return_index=True, return_inverse=True)[1:]
    has_defect = np.asarray((cover >= DEFECT_COVER).reshape(len(cover), -1).any(axis=1))[first]
    order = np.concatenate([np.flatnonzero(has_defect), np.flatnonzero(~has_defect)])
    group_fold = np.empty(len(first), dtype=np.int64)
    group_fold[order] = np.arange(len(order)) % folds
    fold = group_fold[inverse]
    report = progress or (lambda fraction: None)
    logits = np.empty(scores.shape, dtype=np.float32)
    for f in range(folds):
        out = fold == f
        part = replace(head).fit(feats[~out], scores[~out], cover[~out])
        logits[out] = part.score(feats[out], scores[out])
        report((f + 1) / (folds + 1))
    fitted = replace(head).fit(feats, scores, cover)
    report(1.0)
    return fitted, logits


def n_head_images(cover: np.ndarray) -> int:
    """How many images have a defect patch (a cell at least :data:`DEFECT_COVER` inside the mask)."""
    return int((cover >= DEFECT_COVER).reshape(len(cover), -1).any(axis=1).sum())
