"""A data set version as a training zip: the OK/NG layout ``aion inspect`` reads.

What a member labelled and marked in the browser goes to the command line (or another PC) as one
file: ``ok/`` the good and unlabelled images, ``ng/`` the NG ones, and each NG image's mark as the
training job takes it (``masks.defect_mark``): ``ng_masks/<stem>.png`` its painted mask, else the
mask file uploaded with it, ``ng_boxes/<stem>.png`` the mask of a box drawn on it (read as a box, ``ImageItem.mask_is_box``), and ``aion-export.json`` naming the
data set path of every file. The training job reads a version the same way (``tasks._materialize``),
so ``aion inspect train version.zip`` learns from what the web job learns from.

Imports no web or database code: the caller passes the items and the mask files it found.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from aion.platform.masks import defect_mark
from aion.platform.storage.blobstore import BlobStore
from aion.platform.tasks import box_mask


class ExportedImage(NamedTuple):
    """One image of the zip: its name there, its data set path, label and what marks its defect."""

    name: str  # "ok/<file>" or "ng/<file>"
    path: str
    label: str  # "ok" or "ng" (unlabelled images count as good, as in training)
    region: str  # "" | "painted mask" | "mask file" | "box"


def flat_names(paths: Iterable[str]) -> dict[str, str]:
    """A file name for each data set path, unique by stem (case folded): folders joined with
    ``__``; a stem met again gets ``~2``, ``~3``... (so each mask names one image).

    >>> flat_names(["ok/a.png", "parts/x/b.PNG", "ng/a.jpg"])
    {'ok/a.png': 'ok__a.png', 'parts/x/b.PNG': 'parts__x__b.PNG', 'ng/a.jpg': 'ng__a.jpg'}
    >>> flat_names(["a.png", "A.jpg"])
    {'a.png': 'a.png', 'A.jpg': 'A~2.jpg'}
    """
    out: dict[str, str] = {}
    seen: set[str] = set()
    for path in paths:
        p = PurePosixPath(path)
        stem = "__".join((*p.parent.parts, p.stem)) if p.parent.parts else p.stem
        candidate, k = stem, 1
        while candidate.lower() in seen:
            k += 1
            candidate = f"{stem}~{k}"
        seen.add(candidate.lower())
        out[path] = candidate + p.suffix
    return out


def write_training_zip(
    items: list[Any], mask_files: dict[int, Any], store: BlobStore, out: Path
) -> list[ExportedImage]:
    """Write the images of ``items`` (a version's image items) and their defect marks to ``out``.

    ``mask_files`` maps an NG image item's id to the mask file item uploaded with it
    (``kinds.mask_files``). Images are stored as they are (no recompression).
    """
    names = flat_names(it.path for it in items)
    exported: list[ExportedImage] = []
    with tempfile.TemporaryDirectory(prefix="aion-export-") as tmp, zipfile.ZipFile(out, "w") as zf:
        for it in items:
            label = "ng" if it.label == "ng" else "ok"
            name = f"{label}/{names[it.path]}"
            with store.open(it.sha256) as src, zf.open(zipfile.ZipInfo(name), "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            region = ""
            stem = PurePosixPath(names[it.path]).stem
            mark = defect_mark(it.label, it.box, it.mask_sha256, mask_files.get(it.id))
            if mark is not None and mark.mask_sha256:
                region = mark.kind
                with store.open(mark.mask_sha256) as src:
                    zf.writestr(f"ng_masks/{stem}.png", src.read())  # read by content, any format
            elif mark is not None and mark.box:
                drawn = Path(tmp) / f"{stem}.png"
                if box_mask(store.path(it.sha256), mark.box, drawn):
                    region = mark.kind
                    zf.write(drawn, f"ng_boxes/{stem}.png")
            exported.append(ExportedImage(name, it.path, label, region))
        index = [e._asdict() for e in exported]
        zf.writestr("aion-export.json", json.dumps({"images": index}, ensure_ascii=False, indent=1))
    return exported
