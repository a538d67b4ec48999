"""Following the part: where the inspection area's crop lies in each photo.

On a real line a part is seldom at the same pixel twice: it slides on the conveyor, sits a few
millimetres off in its fixture, or the camera bracket gets knocked. A fixed crop then cuts the
part or takes in the belt, and an ignore box drawn over a label misses the label. With
``InspectionArea(align=True)`` the crop drawn on one reference photo is a template of the part:
:class:`PartAligner` finds it in each photo by normalised cross-correlation (a small grey copy of
the photo, every position where the crop fits, the peak refined to a fraction of a pixel) and the
crop and ignore boxes move with it. With ``turn`` (degrees) it also tries the reference's part
turned by up to that much either way, and the crop turns with the part (``turn.py`` cuts it out
upright); without it, a part that turns is not turned back.

It needs numpy and Pillow only (the edge runtime's): a few milliseconds a photo, and one inverse
FFT more for each angle tried when the part may turn (about 11 ms for 15 degrees either way). The
learned state is the reference photo's small grey copy (``frame_``), stored in the model file.

>>> ref = np.zeros((120, 160, 3), np.uint8); ref[30:70, 40:90] = 200; ref[45:55, 50:60] = 60
>>> aligner = PartAligner(Box(0.2, 0.2, 0.6, 0.65)).fit(ref)
>>> moved = np.roll(ref, (20, 30), axis=(0, 1))  # the part 20 px lower, 30 px to the right
>>> found = aligner.locate(moved)
>>> [round(v * n) for v, n in zip(found.crop.to_list(), (160, 120, 160, 120))], round(found.match, 2)
([62, 44, 126, 98], 1.0)
>>> turned = np.asarray(Image.fromarray(ref).rotate(12, center=(65, 51)))  # the part turned 12 degrees
>>> round(PartAligner(Box(0.2, 0.2, 0.6, 0.65), turn=20).fit(ref).locate(turned).angle)
12
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from PIL import Image

from aion.solutions.inspection.area import AreaError, Box, InspectionArea, check_turn

#: The longest side of the grey copy the part is searched in (pixels).
FRAME_SIZE = 192
#: A crop whose grey levels in the reference spread less than this is plain: nothing to find.
MIN_TEMPLATE_STD = 1.0
#: Below this correlation the part was not found where it looks like the reference (reported).
WEAK_MATCH = 0.5
#: Training warns when at least this share of its photos' parts were found turned as far as the
#: search goes (:func:`turn_warning`).
TURN_EDGE_SHARE = 0.1


def turn_warning(at_limit: list[bool], turn: float) -> str | None:
    """What to tell a user when the training photos' parts were found turned as far as the search
    goes (``turn`` degrees either way; ``at_limit``: :attr:`Located.at_limit` of each photo) in
    :data:`TURN_EDGE_SHARE` of them or more: the part turns further, or it looks alike at every
    angle (a round part, whose own marks the search lines up).

    >>> print(turn_warning([True, True, False, True], 15.0))  # doctest: +ELLIPSIS
    부품 각도가 ... found at the end of the search (15 degrees either way) in 3 of 4 training photos: ...
    >>> turn_warning([False, True, False], 15.0) is None, turn_warning([True, True], 0.0) is None
    (True, True)
    """
    edge = sum(at_limit)
    if not turn or edge < 2 or edge < TURN_EDGE_SHARE * len(at_limit):
        return None
    n = len(at_limit)
    return (
        f"부품 각도가 탐색 끝(양쪽 {turn:g}도)에서 찾아진 학습 사진 {edge}/{n}장: 부품이 그보다 더 돌아가거나, "
        f"둥근 부품처럼 어느 각도에서나 비슷해 보입니다. 각도를 늘리거나, 둥근 부품이면 끄세요 / The part's angle was "
        f"found at the end of the search ({turn:g} degrees either way) in {edge} of {n} training photos: "
        "it turns further than that, or it looks alike at every angle (a round part). Raise the turn, or "
        "for a round part leave it off"
    )


def is_weak_match(match: float | None) -> bool:
    """Whether a part's match (``None``: an area that does not follow the part) is too weak to
    trust that the part was there.

    >>> is_weak_match(0.3), is_weak_match(0.9), is_weak_match(None)
    (True, False, False)
    """
    return match is not None and match < WEAK_MATCH


class Located(NamedTuple):
    """Where the part lies in one photo: the crop there (fractions of the photo), the shift from
    the reference photo's crop (fractions) and how well it matched (correlation, -1 to 1)."""

    crop: Box
    dx: float
    dy: float
    match: float
    angle: float = 0.0  # degrees the part turned from the reference's, counter-clockwise
    at_limit: bool = False  # found at the first or last angle searched: it may turn further


class Placement(NamedTuple):
    """The inspection area as it lies in one photo, and how well the part matched there (``None``
    for an area that does not follow the part)."""

    area: InspectionArea
    match: float | None = None
    at_limit: bool = False  # the part's angle was found as far as the search goes (Located)


def grey_frame(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A ``(H, W)`` or ``(H, W, C)`` uint8 photo as a grey ``size`` (w, h) float32 copy."""
    pil = Image.fromarray(image if image.ndim == 2 else np.ascontiguousarray(image[..., :3]))
    small = pil.convert("L").resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(small, dtype=np.float32)


def _window_sums(values: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sums of ``values`` over every ``h`` x ``w`` window that fits (an integral image)."""
    ii = np.zeros((values.shape[0] + 1, values.shape[1] + 1))
    ii[1:, 1:] = values.cumsum(0).cumsum(1)
    return ii[h:, w:] - ii[:-h, w:] - ii[h:, :-w] + ii[:-h, :-w]  # type: ignore[no-any-return]


def template_spectrum(template: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, float]:
    """What :func:`correlation` needs of a template for frames of ``shape``, computed once: the
    conjugate spectrum of the template less its mean, and that difference's norm."""
    t = template.astype(np.float64) - template.mean()
    return np.conj(np.fft.rfft2(t, s=shape)), float(np.sqrt((t * t).sum()))


class FrameTerms(NamedTuple):
    """What :func:`correlation` needs of a frame for templates of one size, computed once."""

    spectrum: np.ndarray
    # 1 / each window's grey-level spread (root of the centred sum of squares); 0 where the window
    # is flat (a spread under :data:`FLAT` per pixel's root: no correlation there, not a division
    # by zero)
    inverse_spread: np.ndarray
    shape: tuple[int, int]
    window: tuple[int, int]


#: A window whose spread is under this times the root of its pixel count is flat.
FLAT = 1e-6


def frame_terms(frame: np.ndarray, window: tuple[int, int]) -> FrameTerms:
    """The terms of a ``(H, W)`` frame for templates of ``window`` (h, w)."""
    f = frame.astype(np.float64)
    h, w = window
    s1, s2 = _window_sums(f, h, w), _window_sums(f * f, h, w)
    spread = np.sqrt(np.maximum(s2 - s1 * s1 / (h * w), 0.0))
    flat = spread <= FLAT * np.sqrt(h * w)
    inverse = np.where(flat, 0.0, 1.0 / np.where(flat, 1.0, spread))
    return FrameTerms(np.fft.rfft2(f), inverse, (f.shape[0], f.shape[1]), window)


def normalised(terms: FrameTerms, spectrum: tuple[np.ndarray, float]) -> np.ndarray:
    """The normalised cross-correlation of a template (its :func:`template_spectrum`) over a frame
    (its :func:`frame_terms`); 0 for a flat template."""
    (H, W), (h, w) = terms.shape, terms.window
    conj_t, t_norm = spectrum
    if t_norm <= FLAT * np.sqrt(h * w):
        return np.zeros((H - h + 1, W - w + 1))
    # the template's zero mean makes the product sum the covariance's numerator; no wrap-around
    # reaches the positions kept
    num = np.fft.irfft2(terms.spectrum * conj_t, s=(H, W))[: H - h + 1, : W - w + 1]
    return num * (terms.inverse_spread / t_norm)  # type: ignore[no-any-return]


def correlation(
    frame: np.ndarray, template: np.ndarray, spectrum: tuple[np.ndarray, float] | None = None
) -> np.ndarray:
    """Normalised cross-correlation of ``template`` at every position where it fits in ``frame``:
    ``(H - h + 1, W - w + 1)``, -1 to 1 (0 where the frame is flat). ``spectrum``: the template's
    :func:`template_spectrum` for this frame size, when known.

    >>> f = np.random.default_rng(0).random((20, 30)); c = correlation(f, f[5:12, 8:20])
    >>> c.shape, [int(v) for v in np.unravel_index(c.argmax(), c.shape)], round(float(c.max()), 6)
    ((14, 19), [5, 8], 1.0)
    """
    terms = frame_terms(frame, (template.shape[0], template.shape[1]))
    return normalised(terms, spectrum if spectrum is not None else template_spectrum(template, terms.shape))


def turn_angles(turn: float, radius: float) -> np.ndarray:
    """The angles searched for a part that may turn up to ``turn`` degrees either way, for a
    template whose corners lie ``radius`` pixels from its centre: steps that move a corner about
    1.5 pixels (0.5 to 3 degrees), 0 among them.

    >>> turn_angles(0.0, 50.0).tolist(), turn_angles(6.0, 40.0).tolist()
    ([0.0], [-6.0, -4.0, -2.0, 0.0, 2.0, 4.0, 6.0])
    """
    if turn <= 0.0:
        return np.zeros(1)
    step = float(np.clip(np.degrees(1.5 / max(radius, 1.0)), 0.5, 3.0))
    n = int(np.ceil(turn / step - 1e-9))
    return np.linspace(-turn, turn, 2 * n + 1)


def _parabola(lo: float, mid: float, hi: float) -> float:
    """Where a parabola through three equally spaced values peaks, from the middle one (-0.5 to 0.5)."""
    den = lo - 2.0 * mid + hi
    return 0.0 if den >= 0.0 else float(np.clip(0.5 * (lo - hi) / den, -0.5, 0.5))


def _refine(c: np.ndarray, y: int, x: int) -> tuple[float, float]:
    """The peak at ``(y, x)`` of ``c`` to a fraction of a pixel (a parabola through each axis)."""

    dy = _parabola(c[y - 1, x], c[y, x], c[y + 1, x]) if 0 < y < c.shape[0] - 1 else 0.0
    dx = _parabola(c[y, x - 1], c[y, x], c[y, x + 1]) if 0 < x < c.shape[1] - 1 else 0.0
    return y + dy, x + dx


@dataclass
class PartAligner:
    """Finds the part that ``crop`` (fractions of the reference photo) framed, in other photos.

    ``frame_size``: the longest side of the grey copy searched. ``turn``: how far (degrees) the part
    may turn either way; 0 searches positions only. ``coarse_to_fine``: try every other angle
    first, then the two beside the best (``False``: every angle; the bench's peer). Learned:
    ``frame_``, the reference photo's grey copy (uint8, its aspect ratio kept; every photo is
    resized to its size), and ``angles_``, the angles the search holds.
    """

    crop: Box
    frame_size: int = FRAME_SIZE
    turn: float = 0.0
    coarse_to_fine: bool = True

    def __post_init__(self) -> None:
        check_turn(self.turn)
        self.frame_: np.ndarray | None = None
        self.angles_ = np.zeros(1)
        self._spectra: list[tuple[np.ndarray, float]] = []
        self._window = (0, 0)
        self._origin = (0, 0)

    def fit(self, reference: np.ndarray) -> PartAligner:
        """Learn the part's look from ``reference`` (the photo the crop was drawn on)."""
        h, w = reference.shape[:2]
        scale = self.frame_size / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        return self.with_frame(np.round(grey_frame(reference, size)).astype(np.uint8))

    def with_frame(self, frame: np.ndarray) -> PartAligner:
        """Set the learned reference copy (as read from a model file) and check the crop fits it."""
        if frame.ndim != 2 or frame.dtype != np.uint8:
            raise AreaError(
                f"Bad alignment reference: {frame.dtype} {frame.shape}, a 2-D uint8 image expected"
            )
        H, W = frame.shape
        x0, y0, x1, y1 = self.crop.pixels(W, H)
        if min(x1 - x0, y1 - y0) < 4:
            raise AreaError(
                f"부품을 따라가려면 검사 영역이 더 커야 함: {self.crop.text()} / The inspected area is too "
                f"small to follow the part: {self.crop.text()}"
            )
        if (x1 - x0, y1 - y0) == (W, H):
            raise AreaError(
                "부품을 따라가려면 검사 영역이 사진보다 작아야 함 / Following the part needs an inspected "
                f"area smaller than the photo: {self.crop.text()}"
            )
        if float(frame[y0:y1, x0:x1].std()) < MIN_TEMPLATE_STD:
            raise AreaError(
                f"검사 영역이 기준 사진에서 한 가지 색이라 따라갈 부품이 없음: {self.crop.text()} / The "
                f"inspected area is plain in the reference photo: nothing to follow: {self.crop.text()}"
            )
        self.frame_ = frame
        self.angles_ = turn_angles(self.turn, float(np.hypot(x1 - x0, y1 - y0)) / 2)
        # the part turned by each angle tried: the reference turned about the crop's centre (what
        # the turn brings in from beyond the photo is its mean grey)
        pil, centre, fill = Image.fromarray(frame), ((x0 + x1) / 2, (y0 + y1) / 2), int(frame.mean())
        self._spectra = []
        for a in self.angles_:
            turned = (
                frame
                if a == 0.0
                else np.asarray(
                    pil.rotate(float(a), Image.Resampling.BILINEAR, center=centre, fillcolor=fill)
                )
            )
            self._spectra.append(template_spectrum(turned[y0:y1, x0:x1].astype(np.float32), (H, W)))
        self._window = (y1 - y0, x1 - x0)
        self._origin = (x0, y0)
        return self

    def locate(self, image: np.ndarray) -> Located:
        """Where the part lies in ``image`` (any size: fractions of it), and how far it turned."""
        if self.frame_ is None or not self._spectra:
            raise AreaError("PartAligner.locate before fit")
        H, W = self.frame_.shape
        terms = frame_terms(grey_frame(image, (W, H)), self._window)
        peaks: dict[int, float] = {}
        best: tuple[float, np.ndarray] = (-np.inf, np.empty(0))  # the highest peak and its map

        def best_of(indices: range | list[int]) -> int:  # the best angle tried so far
            nonlocal best
            for k in indices:
                if k not in peaks:
                    c = normalised(terms, self._spectra[k])
                    peaks[k] = float(c.max())
                    if peaks[k] > best[0] or not best[1].size:
                        best = (peaks[k], c)
            return max(peaks, key=lambda k: peaks[k])

        n = len(self._spectra)
        # coarse to fine: every other angle first (a step moves the crop's corners about 1.5
        # pixels, well within a correlation peak's width), then the two beside the best of those;
        # the best then has both its neighbours, for the parabola below
        i = best_of(range(0, n, 2) if n >= 7 and self.coarse_to_fine else range(n))
        i = best_of([k for k in (i - 1, i + 1) if 0 <= k < n])
        match, c = best
        y, x = np.unravel_index(int(np.argmax(c)), c.shape)
        fy, fx = _refine(c, int(y), int(x))
        angle = float(self.angles_[i])
        if i - 1 in peaks and i + 1 in peaks:  # between the angles tried, as positions between pixels
            step = float(self.angles_[1] - self.angles_[0])
            angle += _parabola(peaks[i - 1], peaks[i], peaks[i + 1]) * step
        crop = self.crop
        # the crop's move in fractions, kept inside the photo (float error only: every
        # position searched fits)
        dx = float(np.clip((fx - self._origin[0]) / W, -crop.left, 1.0 - crop.right))
        dy = float(np.clip((fy - self._origin[1]) / H, -crop.top, 1.0 - crop.bottom))
        moved = Box(
            min(1.0, max(0.0, crop.left + dx)),
            min(1.0, max(0.0, crop.top + dy)),
            min(1.0, max(0.0, crop.right + dx)),
            min(1.0, max(0.0, crop.bottom + dy)),
        )
        return Located(moved, dx, dy, match, angle, n > 1 and i in (0, n - 1))
