"""Where an inspection area that follows the part would lie in a version's photos, before training.

A user who ticks "move the area with the part" draws a box round the part on one photo. Whether
the engine then finds the part in the other photos is worth seeing before minutes of training:
this finds it (``aion/solutions/inspection/align.py``) in the version's first photos, on their
256-pixel previews (``previews.py``: stored once, and the search works on a 192-pixel copy
anyway), and says how well each matched.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session

from aion.platform.areaform import area_turn, bad_area
from aion.platform.datasets import version_items
from aion.platform.errors import PlatformError
from aion.platform.models import DatasetItem, DatasetVersion
from aion.platform.previews import PREVIEW_SIZES, preview_blob
from aion.platform.storage.blobstore import BlobStore
from aion.solutions.inspection.align import PartAligner, is_weak_match
from aion.solutions.inspection.area import AreaError, Box

#: Photos a preview shows (the reference first).
PREVIEW_PHOTOS = 12


class FoundPart(NamedTuple):
    """Where the part was found in one photo: the crop as fractions of the photo, the match, and
    how far the part turned (degrees, counter-clockwise; 0 unless a turn was searched)."""

    item_id: int
    path: str
    box: tuple[float, float, float, float]
    match: float
    angle: float = 0.0

    @property
    def weak(self) -> bool:
        return is_weak_match(self.match)


def _pixels(store: BlobStore, item: DatasetItem) -> np.ndarray:
    sha = preview_blob(store, item.sha256, item.path, PREVIEW_SIZES[0])
    with store.open(sha) as f:
        return np.asarray(Image.open(io.BytesIO(f.read())).convert("RGB"))


def find_parts(
    session: Session,
    store: BlobStore,
    version: DatasetVersion,
    crop: str,
    reference: str,
    turn: str = "",
    limit: int = PREVIEW_PHOTOS,
) -> list[FoundPart]:
    """The part framed by ``crop`` (fractions or percentages of the reference photo, the version's
    image whose item id is ``reference``) found in the reference and the version's next photos
    (good and unlabelled ones first), ``limit`` in all; ``turn``: the degrees it may also turn."""
    try:
        box = Box.parse(crop)
    except AreaError as e:
        raise bad_area("crop", crop) from e
    images = [it for it in version_items(session, version.id) if it.media_type.startswith("image/")]
    chosen = next((it for it in images if str(it.id) == reference.strip()), None)
    if chosen is None:
        raise PlatformError(
            "The reference photo {value} is not an image of this data set version.", value=reference
        )
    degrees = area_turn({"turn": turn}, align=True)
    try:
        aligner = PartAligner(box, turn=degrees).fit(_pixels(store, chosen))
    except AreaError as e:  # a crop of a few pixels, or the whole photo: nothing to follow
        raise bad_area("crop", crop) from e
    others = sorted((it for it in images if it.id != chosen.id), key=lambda it: (it.label == "ng", it.path))
    found = []
    for item in [chosen, *others][:limit]:
        try:
            pixels = _pixels(store, item)
        except PlatformError:  # a file that no longer decodes: training reports it by name
            continue
        at = aligner.locate(pixels)
        box_at = tuple(at.crop.to_list())
        found.append(FoundPart(item.id, item.path, box_at, round(at.match, 4), round(at.angle, 2)))  # type: ignore[arg-type]
    return found
