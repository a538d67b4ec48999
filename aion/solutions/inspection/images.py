"""Safe image decoding: every failure becomes a :class:`BadImageError` naming the file.

Only Pillow and numpy are used, so the edge runtime can decode images without torch.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from aion.solutions.inspection.area import InspectionArea
from aion.solutions.inspection.errors import BadImageError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})

#: Largest image accepted (pixels). Bigger files are refused as possible decompression bombs.
MAX_PIXELS = 64_000_000


def is_image_name(name: str) -> bool:
    """True when a file name has one of the supported image suffixes.

    >>> is_image_name("part_01.JPG"), is_image_name("notes.txt")
    (True, False)
    """
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def decode_image(data: bytes, name: str, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode image bytes to an ``(H, W, 3)`` uint8 RGB array.

    Grayscale, palette, alpha, 16-bit and CMYK images are converted; EXIF rotation is applied.
    A grey image comes back as a read-only three-channel view of its one channel
    (``np.broadcast_to``): a third of the memory, and the model knows it is grey without looking.
    Raises :class:`BadImageError` for empty, corrupt, truncated or oversized images.

    >>> decode_image(b"", "empty.png")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aion.solutions.inspection.errors.BadImageError: ... Skipped bad image: empty.png (empty file)
    >>> decode_image(b"GIF89a, or rather not", "scan.png")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aion.solutions.inspection.errors.BadImageError: ... scan.png (not a PNG, JPEG, BMP or TIFF image)
    """
    if not data:
        raise BadImageError(name, "empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w <= 0 or h <= 0:
                raise BadImageError(name, f"size {w}x{h}")
            if w * h > max_pixels:
                raise BadImageError(name, f"{w}x{h} pixels exceeds the limit of {max_pixels}")
            img.load()
    except BadImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise BadImageError(name, "decompression bomb") from e
    except UnidentifiedImageError as e:  # its text names a Python buffer, not the problem
        raise BadImageError(name, "not a PNG, JPEG, BMP or TIFF image") from e
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as e:
        raise BadImageError(name, str(e) or type(e).__name__) from e
    return _to_rgb_array(img, name)


def _to_rgb_array(img: Image.Image, name: str) -> np.ndarray:
    # a broken EXIF block is not a reason to drop a readable image
    with contextlib.suppress(OSError, ValueError, SyntaxError):
        img = ImageOps.exif_transpose(img) or img
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _grey_view(deep_to_8bit(np.asarray(img)))
    if img.mode in ("L", "1"):
        return _grey_view(np.asarray(img.convert("L"), dtype=np.uint8))
    try:
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise BadImageError(name, str(e) or type(e).__name__) from e
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise BadImageError(name, f"unexpected shape {rgb.shape}")
    return rgb


#: Bit depths a camera writes into a 16- or 32-bit grey file (10-, 12- and 14-bit sensors store
#: their values as they are, in the low bits).
SENSOR_BITS = (8, 10, 12, 14, 16, 24, 32)


def deep_to_8bit(values: np.ndarray) -> np.ndarray:
    """A grey image of more than 8 bits -> uint8, the same way for every image of a camera.

    Integers are read at the smallest sensor depth (:data:`SENSOR_BITS`) that holds their largest
    value, and scaled from ``0 .. 2**bits - 1`` to ``0 .. 255``: a 12-bit camera's 4095 is white in
    every image, so a darker part stays darker, and a hot pixel does not dim the rest (stretching
    each image between its own darkest and brightest pixel did both). Floats within 0-1 are
    scaled by 255. Negative values, and floats beyond 0-1 (a thermal camera's degrees), have no
    fixed range: they are stretched between the image's own extremes.

    >>> deep_to_8bit(np.array([[0, 2048, 4095]], np.uint16)).tolist()  # 12-bit
    [[0, 128, 255]]
    >>> deep_to_8bit(np.array([[0, 1000, 65535]], np.uint16)).tolist()  # 16-bit, one hot pixel
    [[0, 4, 255]]
    >>> deep_to_8bit(np.array([[0.0, 0.5, 1.0]], np.float32)).tolist()
    [[0, 128, 255]]
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return np.zeros(arr.shape, np.uint8)
    lo, hi = float(arr.min()), float(arr.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = float(arr.min()), float(arr.max())
    if lo >= 0 and np.issubdtype(values.dtype, np.floating) and hi <= 1.0:
        top = 1.0
    elif lo >= 0 and not np.issubdtype(values.dtype, np.floating):
        bits = next((b for b in SENSOR_BITS if hi < 2**b), SENSOR_BITS[-1])
        top = float(2**bits - 1)
    else:  # no fixed range: the image's own
        arr, top = arr - lo, hi - lo
    scale = 255.0 / top if top > 0 else 0.0
    return np.rint(arr * scale).clip(0, 255).astype(np.uint8)


def _grey_view(grey: np.ndarray) -> np.ndarray:
    """``(H, W)`` -> ``(H, W, 3)`` read-only view with the same plane in every channel."""
    return np.broadcast_to(grey[:, :, None], (*grey.shape, 3))


def is_grey(image: np.ndarray) -> bool:
    """True for a grey image: ``(H, W)``, ``(H, W, 1)``, a three-channel view of one channel (as
    :func:`decode_image` gives for grey files: no check needed),
    or three equal channels (monochrome line cameras saved as RGB).

    >>> grey = np.zeros((4, 5), np.uint8)
    >>> is_grey(grey), is_grey(np.broadcast_to(grey[:, :, None], (4, 5, 3))), is_grey(np.zeros((4, 5, 3), np.uint8))
    (True, True, True)
    >>> colour = np.zeros((4, 5, 3), np.uint8); colour[3, 4, 1] = 1
    >>> is_grey(colour)
    False
    """
    if image.ndim == 2 or image.shape[2] == 1 or image.strides[2] == 0:
        return True
    first = image[..., 0]
    # the first row settles almost every colour image before the whole image is compared
    row_grey = np.array_equal(first[0], image[0, :, 1]) and np.array_equal(first[0], image[0, :, 2])
    return row_grey and np.array_equal(first, image[..., 1]) and np.array_equal(first, image[..., 2])


def resize_pixels(image: np.ndarray, size: int, keep_grey: bool = False) -> np.ndarray:
    """``(H, W, 3)`` uint8 -> ``(size, size, 3)`` uint8, bilinear (Pillow), whole image, no crop.

    A grey image (:func:`is_grey`) is resized once, not three times, with the same result; with
    ``keep_grey`` it stays one channel, ``(size, size, 1)`` (graphs that take grey batches).

    >>> grey = np.repeat((np.arange(48, dtype=np.uint8) * 5).reshape(6, 8, 1), 3, axis=2)
    >>> three = np.asarray(Image.fromarray(grey).resize((4, 4), Image.Resampling.BILINEAR))
    >>> resize_pixels(grey, 4).shape, bool((resize_pixels(grey, 4) == three).all())
    ((4, 4, 3), True)
    >>> one = resize_pixels(grey, 4, keep_grey=True)
    >>> one.shape, bool((one[..., 0] == three[..., 2]).all())
    ((4, 4, 1), True)
    >>> colour = grey.copy(); colour[0, 0, 2] = 255
    >>> bool((resize_pixels(colour, 4, keep_grey=True) == three).all())
    False
    """
    if is_grey(image):
        plane = image if image.ndim == 2 else image[..., 0]
        grey = Image.fromarray(np.ascontiguousarray(plane))
        small = np.asarray(grey.resize((size, size), Image.Resampling.BILINEAR))
        return small[:, :, None] if keep_grey else np.stack([small, small, small], axis=2)
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))


def read_image(path: Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read and decode one image file (see :func:`decode_image`)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise BadImageError(str(path), str(e)) from e
    return decode_image(data, Path(path).name, max_pixels)


def read_mask(
    data: bytes, name: str, size: tuple[int, int], area: InspectionArea | None = None
) -> np.ndarray:
    """Decode a ground-truth mask to a boolean ``(H, W)`` array resized (nearest) to ``size`` (w, h);
    with an inspection ``area``, only its crop (as the model sees the photo)."""
    rgb = decode_image(data, name)
    if area is not None:
        rgb = area.crop_image(rgb)
    img = Image.fromarray(np.ascontiguousarray(rgb[:, :, 0])).resize(size, Image.Resampling.NEAREST)
    return np.asarray(img) > 127
