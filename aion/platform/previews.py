"""Browser-ready previews of stored images.

A data set keeps each image as uploaded: a camera's TIFF (which browsers do not show), a
16-bit grey PNG, a 20-megapixel JPEG. The pages show a preview instead: the image decoded as the
inspection engine reads it (EXIF orientation applied, grey and 16-bit images mapped to 8 bits,
decompression bombs refused), its longer side shrunk to one of :data:`PREVIEW_SIZES` (never
enlarged, aspect kept, so a box drawn on it in relative coordinates holds for the original), and
encoded as JPEG, or PNG for masks (sharp edges). A preview is made once: it is stored as a blob
of its own and named by the ref ``previews/<sha256>/<size>``, so it survives restarts and is shared
by every worker of the same store.
"""

from __future__ import annotations

import io

from PIL import Image

from aion.platform.errors import PlatformError
from aion.platform.storage.blobstore import BlobStore, check_sha256
from aion.solutions.inspection.errors import BadImageError
from aion.solutions.inspection.images import decode_image

#: Longer side of a preview in pixels: thumbnails in lists, and the labelling viewer's image.
PREVIEW_SIZES = (256, 1280)
JPEG_QUALITY = 85


def make_preview(data: bytes, name: str, size: int, mask: bool = False) -> bytes:
    """The preview of image file ``data``: JPEG (PNG for a ``mask``), longer side at most ``size``.

    >>> png = io.BytesIO(); Image.new("L", (600, 300), 200).save(png, "TIFF")
    >>> out = Image.open(io.BytesIO(make_preview(png.getvalue(), "a.tif", 256)))
    >>> out.format, out.size
    ('JPEG', (256, 128))
    """
    if size not in PREVIEW_SIZES:
        raise PlatformError(
            "Unknown preview size {size} (valid: {valid})",
            size=size,
            valid=", ".join(map(str, PREVIEW_SIZES)),
        )
    try:
        pixels = decode_image(data, name)
    except BadImageError as e:
        raise PlatformError("Cannot show {name}: {reason}", name=name, reason=e.reason) from e
    img = Image.fromarray(pixels)
    if mask:
        img = img.convert("L")
    img.thumbnail((size, size), Image.Resampling.NEAREST if mask else Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if mask:
        img.save(out, "PNG", optimize=True)
    else:
        img.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def preview_ref(sha256: str, size: int) -> str:
    """The ref that names the preview of blob ``sha256`` at ``size``.

    >>> preview_ref("a" * 64, 256)
    'previews/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/256'
    """
    return f"previews/{check_sha256(sha256)}/{size}"


def preview_blob(store: BlobStore, sha256: str, name: str, size: int, mask: bool = False) -> str:
    """The SHA-256 of the stored preview of blob ``sha256``, made and stored on first use (again
    if its blob has gone)."""
    ref = preview_ref(sha256, size)
    known = store.get_ref(ref)
    if known is not None and store.exists(known):
        return known
    with store.open(sha256) as f:
        data = f.read()
    info = store.put_stream(io.BytesIO(make_preview(data, name, size, mask)))
    store.put_ref(ref, info.sha256)
    return info.sha256
