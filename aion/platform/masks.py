"""Defect masks painted in the labelling page, and which mark an NG image is trained with.

A member paints over a defect with a brush on the image as the page shows it (its preview, at
most 1,280 px on the longer side); the page sends the painting as a PNG whose alpha channel (or,
without one, its grey value) marks the defect. :func:`read_painted_mask` checks it and turns it
into the binary mask the inspection engine reads (white on black, 8-bit grey PNG): a mask need
not have the image's own size, only its shape, since the engine resizes masks to the image.

:func:`defect_mark` is the one rule for which mark of an NG image counts (the painted mask, else
the mask file uploaded with it, else the box drawn on it): the training job, the training zip and
the labelling page all ask it. The module imports no web or database code.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from aion.platform.errors import PlatformError

#: Refused above these: a painted mask is a small, mostly empty PNG (tens of kB at 1,280 px).
MAX_MASK_BYTES = 8 * 1024 * 1024
MAX_MASK_SIDE = 4096
#: How far the mask's width / height may differ from the image's (rounding of a shrunk preview).
SHAPE_TOLERANCE = 0.02
_EXIF_ORIENTATION = 0x0112


class PaintedMask(NamedTuple):
    """A checked mask: the binary PNG to store, its size and the share of pixels it marks."""

    png: bytes
    size: tuple[int, int]  # (width, height)
    area: float


class DefectMark(NamedTuple):
    """The mark an NG image is trained with: ``kind`` ``"painted mask"``, ``"mask file"`` or
    ``"box"``; the mask blob's SHA-256 (the first two) or the box (fractions of the image)."""

    kind: str
    mask_sha256: str | None
    box: list[float] | None


def defect_mark(
    label: str | None, box: list[float] | None, mask_sha256: str | None, mask_file: Any | None
) -> DefectMark | None:
    """Which mark of an image counts: the painted mask, else its uploaded ``mask_file`` (an item
    with ``sha256``), else the box; ``None`` for an image that is not NG or has none.

    >>> defect_mark("ng", [0.1, 0.1, 0.5, 0.5], None, None).kind
    'box'
    >>> defect_mark("ng", [0.1, 0.1, 0.5, 0.5], "ab" * 32, None).kind, defect_mark("ok", None, None, None)
    ('painted mask', None)
    """
    if label != "ng":
        return None
    if mask_sha256:
        return DefectMark("painted mask", mask_sha256, None)
    if mask_file is not None:
        return DefectMark("mask file", mask_file.sha256, None)
    if box:
        return DefectMark("box", None, [float(v) for v in box])
    return None


def mask_too_large(size: int) -> PlatformError:
    return PlatformError(
        "The mask is too large: {size} bytes (at most {limit}).", size=size, limit=MAX_MASK_BYTES
    )


def shown_size(source: str | os.PathLike[str] | BinaryIO) -> tuple[int, int] | None:
    """(width, height) of an image as shown, turned by its EXIF orientation as the engine and the
    previews turn it (phone photos); ``None`` when the file is no image Pillow reads.

    >>> buf = io.BytesIO(); Image.new("L", (30, 20)).save(buf, "PNG"); _ = buf.seek(0)
    >>> shown_size(buf)
    (30, 20)
    """
    src = source if hasattr(source, "read") else Path(source)  # type: ignore[arg-type]
    try:
        with Image.open(src) as im:  # type: ignore[arg-type]
            w, h = im.size
            if im.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8):
                w, h = h, w
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None
    return w, h


def read_painted_mask(data: bytes, image_size: tuple[int, int] | None) -> PaintedMask:
    """Check a painted mask (PNG bytes) against the image's shown ``image_size`` and binarise it.

    Raises :class:`PlatformError` naming the problem: too large, not a PNG, a shape other than the
    image's, or nothing painted.

    >>> buf = io.BytesIO(); im = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    >>> im.paste((255, 0, 0, 255), (0, 0, 10, 20)); im.save(buf, "PNG")
    >>> m = read_painted_mask(buf.getvalue(), (400, 200))
    >>> m.size, m.area
    ((40, 20), 0.25)
    >>> read_painted_mask(buf.getvalue(), (200, 200))
    Traceback (most recent call last):
    ...
    aion.platform.errors.PlatformError: The mask is 40 x 20 pixels, the image 200 x 200: their shapes differ.
    """
    if len(data) > MAX_MASK_BYTES:
        raise mask_too_large(len(data))
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG":
                raise PlatformError("A mask must be a PNG image, not {format}.", format=im.format or "?")
            w, h = im.size
            if not (0 < w <= MAX_MASK_SIDE and 0 < h <= MAX_MASK_SIDE):
                raise PlatformError(
                    "The mask is {w} x {h} pixels; at most {limit} on a side.", w=w, h=h, limit=MAX_MASK_SIDE
                )
            im.load()
            if "A" in im.getbands():
                values = np.asarray(im.getchannel("A"))
            elif im.mode == "P" and "transparency" in im.info:
                values = np.asarray(im.convert("RGBA").getchannel("A"))
            else:
                values = np.asarray(im.convert("L"))
    except UnidentifiedImageError as e:  # its text names a Python object, not the problem
        raise PlatformError("The mask is not an image: a PNG is expected.") from e
    except (OSError, ValueError, SyntaxError) as e:
        raise PlatformError("The mask cannot be read: {reason}", reason=str(e) or type(e).__name__) from e
    if image_size is not None:
        iw, ih = image_size
        # w / h against iw / ih, cross-multiplied: 2% or a pixel's rounding on a side, whichever is more
        if abs(w * ih - h * iw) > max(SHAPE_TOLERANCE * w * ih, iw + ih):
            raise PlatformError(
                "The mask is {w} x {h} pixels, the image {iw} x {ih}: their shapes differ.",
                w=w,
                h=h,
                iw=iw,
                ih=ih,
            )
    marked = values > 127
    if not marked.any():
        raise PlatformError("The mask marks nothing: paint over the defect, or clear the label with x.")
    out = io.BytesIO()
    Image.fromarray(np.where(marked, 255, 0).astype(np.uint8)).save(out, "PNG", optimize=True)
    return PaintedMask(out.getvalue(), (w, h), round(float(marked.mean()), 6))
