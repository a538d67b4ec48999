"""Patch scores to anomaly maps, 0-1 normalisation, defect masks, regions and heat-map overlays.

numpy and Pillow only (shared by the torch and the ONNX Runtime paths, so both score alike).
Upsampling (bilinear) and Gaussian smoothing are both linear and separable, so they are folded
into one small matrix ``A`` with ``map = A @ patch_scores @ A.T``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from aion.solutions.inspection import turn as turning


def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` matrix of bilinear upsampling (``align_corners=False``)."""
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    w = src - lo
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), lo] += 1 - w
    m[np.arange(n_out), hi] += w
    return m


def gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    """``(n, n)`` matrix of 1-D Gaussian smoothing with reflected borders (``sigma`` in pixels).

    >>> g = gaussian_matrix(16, 2.0)
    >>> bool(np.allclose(g.sum(1), 1.0))
    True
    """
    if sigma <= 0:
        return np.eye(n)
    radius = int(4 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    m = np.zeros((n, n))
    for i in range(n):
        j = i + offsets
        j = np.where(j < 0, -j - 1, j)  # reflect (scipy "reflect" mode)
        j = np.where(j >= n, 2 * n - j - 1, j)
        j = np.clip(j, 0, n - 1)
        np.add.at(m[i], j, kernel)
    return m


def map_operator(grid: int, size: int, sigma: float) -> np.ndarray:
    """``(size, grid)`` float32 matrix: upsample a ``grid`` patch map to ``size`` pixels, then smooth."""
    return (gaussian_matrix(size, sigma) @ bilinear_matrix(grid, size)).astype(np.float32)


def normalise(score: np.ndarray | float, threshold: float, low: float) -> np.ndarray:
    """Map raw scores to 0-1 with ``low`` (typical good score) at 0 and ``threshold`` at 0.5.

    >>> normalise(np.array([1.0, 2.0, 3.0, 9.0]), threshold=2.0, low=1.0).tolist()
    [0.0, 0.5, 1.0, 1.0]
    """
    scale = threshold - low if threshold > low else max(abs(threshold), 1e-6)
    return np.clip(0.5 + 0.5 * (np.asarray(score, dtype=np.float64) - threshold) / scale, 0.0, 1.0)


@dataclass(frozen=True)
class Region:
    """A connected defect region, in original-image pixels."""

    x: int
    y: int
    width: int
    height: int
    area: int  # pixels of the region (original-image scale)
    peak: float  # max normalised score inside

    def to_dict(self) -> dict[str, float | int]:
        return {
            "x": self.x,
            "y": self.y,
            "width": self.width,
            "height": self.height,
            "area": self.area,
            "peak": round(self.peak, 4),
        }


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected component labels of a boolean mask (scipy when present, else pure numpy/BFS)."""
    try:
        from scipy import ndimage
    except ImportError:  # pragma: no cover - the edge runtime may lack scipy
        return _bfs_label(mask)
    labels, n = ndimage.label(mask)
    return labels, int(n)


def _bfs_label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    labels = np.zeros(mask.shape, dtype=np.int32)
    h, w = mask.shape
    n = 0
    for y0, x0 in zip(*np.nonzero(mask), strict=True):
        if labels[y0, x0]:
            continue
        n += 1
        labels[y0, x0] = n
        queue = deque([(y0, x0)])
        while queue:
            y, x = queue.popleft()
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not labels[yy, xx]:
                    labels[yy, xx] = n
                    queue.append((yy, xx))
    return labels, n


def find_regions(
    norm_map: np.ndarray, image_size: tuple[int, int], min_area: int = 1, origin: tuple[int, int] = (0, 0)
) -> list[Region]:
    """Regions where the normalised map exceeds 0.5, scaled to ``image_size`` (w, h): the photo's,
    or its inspected crop's, whose top-left corner ``origin`` (x, y) is then added."""
    mask = norm_map > 0.5
    if not mask.any():
        return []
    labels, n = label_components(mask)
    sh, sw = mask.shape
    fx, fy = image_size[0] / sw, image_size[1] / sh
    ox, oy = origin
    regions = []
    for i in range(1, n + 1):
        ys, xs = np.nonzero(labels == i)
        area = int(round(len(ys) * fx * fy))
        if area < min_area:
            continue
        x0, y0 = int(xs.min() * fx), int(ys.min() * fy)
        x1, y1 = int(np.ceil((xs.max() + 1) * fx)), int(np.ceil((ys.max() + 1) * fy))
        regions.append(Region(ox + x0, oy + y0, x1 - x0, y1 - y0, area, float(norm_map[ys, xs].max())))
    regions.sort(key=lambda r: -r.peak)
    return regions


#: A box in pixels of a photo: ``(x0, y0, x1, y1)``, right and bottom exclusive (``turn.py``).
Pixels = turning.Pixels


def turned_regions(
    regions: list[Region], crop: Pixels, angle: float, image_size: tuple[int, int]
) -> list[Region]:
    """Regions found in a crop turned by ``angle`` (found upright, as photo pixels of the crop's
    unturned place) as the photo's upright boxes round them; their areas are kept.

    >>> turned_regions([Region(10, 0, 20, 5, 100, 0.9)], (10, 0, 30, 20), 90.0, (40, 30))
    [Region(x=10, y=0, width=5, height=20, area=100, peak=0.9)]
    """
    out = []
    for r in regions:
        inner = (r.x - crop[0], r.y - crop[1], r.x - crop[0] + r.width, r.y - crop[1] + r.height)
        x0, y0, x1, y1 = turning.region_box(crop, angle, inner, image_size)
        out.append(Region(x0, y0, x1 - x0, y1 - y0, r.area, r.peak))
    return out


def full_frame(
    norm_map: np.ndarray, image_size: tuple[int, int], crop: Pixels | None = None, angle: float = 0.0
) -> np.ndarray:
    """The map ``(S, S)`` at the photo's ``image_size`` (w, h) ``(h, w)`` float32: resized into the
    inspected ``crop`` (the whole photo without one), turned by ``angle`` about its centre, 0
    outside it.

    >>> full_frame(np.ones((4, 4), np.float32), (6, 3), (2, 1, 4, 3)).tolist()
    [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]]
    """
    w, h = image_size
    x0, y0, x1, y1 = crop or (0, 0, w, h)
    m = np.asarray(
        Image.fromarray(norm_map.astype(np.float32)).resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR)
    )
    if crop is None:
        return m
    if angle:
        return turning.paste(m, crop, angle, image_size)
    out = np.zeros((h, w), dtype=np.float32)
    out[y0:y1, x0:x1] = m
    return out


def seen_pixels(
    image_size: tuple[int, int], crop: Pixels | None, ignore: tuple[Pixels, ...], angle: float = 0.0
) -> np.ndarray:
    """``(h, w)`` bool: the photo's pixels a model inspects: its ``crop`` (turned by ``angle``)
    less the ``ignore`` boxes (given unturned, in their place beside the crop's; they turn with it).

    >>> seen_pixels((4, 2), (1, 0, 4, 2), ((3, 0, 4, 1),)).astype(int).tolist()
    [[0, 1, 1, 0], [0, 1, 1, 1]]
    """
    w, h = image_size
    x0, y0, x1, y1 = crop or (0, 0, w, h)
    if not angle or crop is None:
        seen = np.zeros((h, w), dtype=bool)
        seen[y0:y1, x0:x1] = True
        for bx0, by0, bx1, by1 in ignore:
            seen[by0:by1, bx0:bx1] = False
        return seen
    canvas = Image.new("L", image_size, 0)
    draw = ImageDraw.Draw(canvas)
    draw.polygon(turning.corners(crop, angle), fill=1)
    for bx0, by0, bx1, by1 in ignore:
        draw.polygon(turning.corners(crop, angle, (bx0 - x0, by0 - y0, bx1 - x0, by1 - y0)), fill=0)
    return np.asarray(canvas) > 0


def _jet(v: np.ndarray) -> np.ndarray:
    """Jet-like colour map of values in [0, 1] -> uint8 RGB."""
    r = np.clip(1.5 - np.abs(4 * v - 3), 0, 1)
    g = np.clip(1.5 - np.abs(4 * v - 2), 0, 1)
    b = np.clip(1.5 - np.abs(4 * v - 1), 0, 1)
    return (np.stack([r, g, b], axis=-1) * 255).astype(np.uint8)


def overlay(
    image: np.ndarray,
    norm_map: np.ndarray,
    alpha: float = 0.45,
    crop: Pixels | None = None,
    ignore: tuple[Pixels, ...] = (),
    angle: float = 0.0,
) -> Image.Image:
    """Heat map of ``norm_map`` (0-1) blended over ``image`` (H, W, 3 uint8), with the defect
    contour (map > 0.5) drawn in white. With an inspection area the map covers its ``crop`` (turned
    by ``angle``); what the model does not inspect (outside it, and the ``ignore`` boxes) is shown
    darkened."""
    h, w = image.shape[:2]
    m = full_frame(norm_map, (w, h), crop, angle)
    heat = _jet(np.clip(m, 0, 1))
    out = (image.astype(np.float32) * (1 - alpha) + heat.astype(np.float32) * alpha).astype(np.uint8)
    if crop is not None or ignore:
        seen = seen_pixels((w, h), crop, ignore, angle)
        out[~seen] = (image[~seen].astype(np.float32) * 0.35).astype(np.uint8)
        m = np.where(seen, m, 0.0)
    mask = m > 0.5
    edge = mask & ~(np.roll(mask, 1, 0) & np.roll(mask, -1, 0) & np.roll(mask, 1, 1) & np.roll(mask, -1, 1))
    out[edge] = 255
    return Image.fromarray(out)


def mask_image(
    norm_map: np.ndarray, image_size: tuple[int, int], crop: Pixels | None = None, angle: float = 0.0
) -> Image.Image:
    """Binary defect mask (0/255, mode ``L``) at the original ``image_size`` (w, h)."""
    return Image.fromarray(((full_frame(norm_map, image_size, crop, angle) > 0.5) * 255).astype(np.uint8))
