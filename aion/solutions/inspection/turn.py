"""A box turned about its centre: cut out of a photo upright, and a map of it put back.

When the inspection area follows a part that also turns (``InspectionArea(align=True, turn=15)``),
the crop in a photo is the reference photo's box, moved to where the part lies and turned by the
part's angle there. The model inspects the part upright, as in the reference photo: :func:`cut`
samples the turned box into an upright array. What the model gives back (its anomaly map, defect
regions, the boxes drawn on a heat map) lies in that upright box, and goes back onto the photo with
:func:`paste`, :func:`corners` and :func:`region_box`.

Angles are degrees, positive counter-clockwise as seen on screen (as Pillow's ``Image.rotate``).
A box is ``(x0, y0, x1, y1)`` pixels of the photo (right and bottom exclusive); its centre is the
centre of the turn. Coordinates are continuous, pixel edges on whole numbers, so an angle of 0
reproduces a plain slice exactly.

>>> photo = np.zeros((60, 80), np.uint8); photo[20:30, 30:60] = 255   # a bar, 30 wide, 10 high
>>> upright = cut(photo, (25, 5, 65, 45), 90.0)   # the same bar, turned a quarter turn
>>> int(upright.sum() // 255), bool(upright[5:35, 15:25].min() == 255), bool(upright[:, 25:].max() == 0)
(300, True, True)
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

#: A box in pixels of a photo: ``(x0, y0, x1, y1)``, right and bottom exclusive.
Pixels = tuple[int, int, int, int]


def _to_photo(box: Pixels, angle: float) -> tuple[float, float, float, float, float, float]:
    """The affine map from the upright box's pixels ``(u, v)`` to the photo's ``(x, y)``:
    ``x = a u + b v + c``, ``y = d u + e v + f`` (Pillow's ``Transform.AFFINE`` order)."""
    x0, y0, x1, y1 = box
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    co, si = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return co, si, cx - co * hw - si * hh, -si, co, cy + si * hw - co * hh


def _to_box(box: Pixels, angle: float) -> tuple[float, float, float, float, float, float]:
    """The inverse of :func:`_to_photo`: the photo's ``(x, y)`` to the upright box's ``(u, v)``."""
    x0, y0, x1, y1 = box
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    co, si = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return co, -si, hw - co * cx + si * cy, si, co, hh - si * cx - co * cy


def points(box: Pixels, angle: float, uv: np.ndarray) -> np.ndarray:
    """Points ``(N, 2)`` of the upright box (``u, v`` pixels from its top-left corner) in the photo.

    >>> points((0, 0, 20, 10), 0.0, np.array([[0.0, 0.0], [20.0, 10.0]])).tolist()
    [[0.0, 0.0], [20.0, 10.0]]
    """
    a, b, c, d, e, f = _to_photo(box, angle)
    u, v = uv[:, 0], uv[:, 1]
    return np.stack([a * u + b * v + c, d * u + e * v + f], axis=1)


def corners(
    box: Pixels, angle: float, inner: tuple[float, float, float, float] | None = None
) -> list[tuple[float, float]]:
    """The four corners in the photo of the turned ``box``, or of ``inner`` (``u0, v0, u1, v1``
    pixels of the upright box) within it: top-left, top-right, bottom-right, bottom-left.

    >>> [(round(x, 6), round(y, 6)) for x, y in corners((0, 0, 20, 10), 90.0)]
    [(5.0, 15.0), (5.0, -5.0), (15.0, -5.0), (15.0, 15.0)]
    """
    x0, y0, x1, y1 = box
    u0, v0, u1, v1 = inner if inner is not None else (0.0, 0.0, float(x1 - x0), float(y1 - y0))
    uv = np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]], dtype=np.float64)
    return [(float(x), float(y)) for x, y in points(box, angle, uv)]


def region_box(box: Pixels, angle: float, inner: Pixels, size: tuple[int, int]) -> Pixels:
    """The photo's upright box round ``inner`` (pixels of the upright box), clipped to the photo
    of ``size`` (w, h): where a defect region found in the turned crop lies in the photo."""
    u0, v0, u1, v1 = inner
    pts: np.ndarray = np.array(corners(box, angle, (float(u0), float(v0), float(u1), float(v1))))
    w, h = size
    x0, y0 = (
        int(np.clip(np.floor(pts[:, 0].min()), 0, w - 1)),
        int(np.clip(np.floor(pts[:, 1].min()), 0, h - 1)),
    )
    x1 = int(np.clip(np.ceil(pts[:, 0].max()), x0 + 1, w))
    y1 = int(np.clip(np.ceil(pts[:, 1].max()), y0 + 1, h))
    return x0, y0, x1, y1


def _transform(plane: Image.Image, size: tuple[int, int], data: tuple[float, ...]) -> Image.Image:
    return plane.transform(
        size, Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR, fillcolor=0
    )


def cut(image: np.ndarray, box: Pixels, angle: float) -> np.ndarray:
    """The turned ``box`` of an ``(H, W)`` or ``(H, W, C)`` photo, upright: ``(y1 - y0, x1 - x0[, C])``
    of the photo's dtype, bilinear; what lies outside the photo is 0."""
    x0, y0, x1, y1 = box
    size, data = (x1 - x0, y1 - y0), _to_photo(box, angle)
    if image.dtype == np.uint8 and (image.ndim == 2 or image.shape[2] in (3, 4)):
        return np.asarray(_transform(Image.fromarray(np.ascontiguousarray(image)), size, data))
    planes = image[..., None] if image.ndim == 2 else image
    out = [
        np.asarray(_transform(Image.fromarray(np.ascontiguousarray(planes[..., i], np.float32)), size, data))
        for i in range(planes.shape[2])
    ]
    return np.stack(out, axis=-1).astype(image.dtype).reshape((size[1], size[0], *image.shape[2:]))


def paste(upright: np.ndarray, box: Pixels, angle: float, size: tuple[int, int]) -> np.ndarray:
    """A float map ``(h, w)`` of the upright ``box`` (its own pixels) put back turned into a photo of
    ``size`` (w, h): ``(H, W)`` float32, 0 outside the box."""
    plane = Image.fromarray(np.ascontiguousarray(upright, np.float32))
    return np.asarray(_transform(plane, size, _to_box(box, angle)), dtype=np.float32)
