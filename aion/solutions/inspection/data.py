"""Inspection data sets: the MVTec AD layout, or ``ok/`` and ``ng/`` folders, in a folder or a zip.

Layouts understood (folder names are case-insensitive; a zip may wrap everything in one folder):

* MVTec AD: ``train/good/*``, ``test/<kind>/*`` (``good`` is the defect-free kind) and, where
  pixel masks exist, ``ground_truth/<kind>/<stem>_mask.png``.
* OK/NG: ``ok/*`` (aliases ``good``, ``normal``, ``pass``, ``양품``, ``정상``, ``합격``) and ``ng/*``
  (aliases ``defect``, ``bad``, ``fail``, ``불량``, ``불량품``, ``불합격``, ``결함``); optionally
  ``ng_masks/<stem>.png`` or ``ground_truth/<stem>_mask.png``, or a box drawn round the defect
  (white inside) as ``ng_boxes/<stem>.png`` (:attr:`ImageItem.mask_is_box`).
* A plain folder of images: all taken as defect-free.

Names inside a zip are read as its maker wrote them (CP949 from a Korean Windows PC, UTF-8 from
Info-ZIP or macOS: ``aion.zipnames``) and compared in NFC, so ``양품/`` labels its images whatever
tool made the archive.
"""

from __future__ import annotations

import hashlib
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from aion.solutions.inspection.area import InspectionArea
from aion.solutions.inspection.errors import BadImageError, DatasetError
from aion.solutions.inspection.images import decode_image, is_image_name, read_mask
from aion.zipnames import open_zip

#: Folder names (compared case-insensitively, in NFC) that label their images good or defect.
GOOD_NAMES = ("ok", "good", "normal", "pass", "양품", "정상", "합격")
BAD_NAMES = ("ng", "defect", "bad", "fail", "불량", "불량품", "불합격", "결함")


def folded(name: str) -> str:
    """A folder or file name as label folders are matched: NFC (composed Hangul), lower case.

    >>> folded(unicodedata.normalize("NFD", "양품")) == "양품", folded("OK")
    (True, 'ok')
    """
    return unicodedata.normalize("NFC", name).lower()


@dataclass(frozen=True)
class ImageItem:
    """One image of a data set; ``member`` is set when the image lives inside ``source`` (a zip)."""

    source: Path
    member: str | None
    name: str
    label: int  # 0 = good, 1 = defect
    kind: str = "good"
    mask_member: str | None = None  # path (in the zip, or on disk) of the ground-truth mask

    @property
    def key(self) -> str:
        """``kind/name``: how a model records the images its defect head learned from.

        >>> ImageItem(Path("d"), "test/crack/a.png", "a.png", 1, "crack").key
        'crack/a.png'
        """
        return f"{self.kind}/{self.name}"

    @property
    def mask_is_box(self) -> bool:
        """Whether the mask is a box drawn round the defect (``ng_boxes/`` or ``boxes/``, or a
        ``<stem>_box.png``), not a traced outline: part of it is good surface.

        >>> [ImageItem(Path("d"), "ng/a.png", "a.png", 1, "ng", m).mask_is_box
        ...  for m in ("ng_boxes/a.png", "x/A_BOX.png", "ng_masks/a.png", None)]
        [True, True, False, False]
        """
        if self.mask_member is None:
            return False
        path = PurePosixPath(self.mask_member)
        return folded(path.stem).endswith(BOX_SUFFIX) or folded(path.parent.name) in BOX_DIRS

    def read_bytes(self) -> bytes:
        return _read(self.source, self.member)

    def load(self) -> np.ndarray:
        """Decode to an ``(H, W, 3)`` uint8 array; raises :class:`BadImageError`."""
        return decode_image(self.file_bytes(), self.name)

    def file_bytes(self) -> bytes:
        """The file's bytes; raises :class:`BadImageError` when it cannot be read."""
        try:
            return self.read_bytes()
        except (OSError, KeyError, zipfile.BadZipFile) as e:
            raise BadImageError(self.name, str(e)) from e

    def load_fingerprinted(self) -> tuple[np.ndarray, str]:
        """:meth:`load`, and the file's :func:`fingerprint` (the file is read once)."""
        data = self.file_bytes()
        return decode_image(data, self.name), fingerprint(data)

    def load_mask(self, size: tuple[int, int], area: InspectionArea | None = None) -> np.ndarray | None:
        """Ground-truth mask resized to ``size`` (w, h) (with an inspection ``area``: its crop's);
        ``None`` when there is none.

        A defect image whose mask is missing has ``None``; a good image gets an empty mask.
        """
        if self.mask_member is None:
            return np.zeros((size[1], size[0]), dtype=bool) if self.label == 0 else None
        try:
            data = _read(self.source, self.mask_member)
        except (OSError, KeyError, zipfile.BadZipFile) as e:
            raise BadImageError(self.mask_member, str(e)) from e
        return read_mask(data, PurePosixPath(self.mask_member).name, size, area)


#: Hex digits of a file's SHA-256 kept as its :func:`fingerprint`.
FINGERPRINT_DIGITS = 16


def fingerprint(data: bytes) -> str:
    """A short content fingerprint of an image file (the first :data:`FINGERPRINT_DIGITS` hex
    digits of its SHA-256): a model records those of its training images, so that ``evaluate``
    knows them under any name.

    >>> fingerprint(b"abc")
    'ba7816bf8f01cfea'
    """
    return fingerprint_of_sha256(hashlib.sha256(data).hexdigest())


def fingerprint_of_sha256(hexdigest: str) -> str:
    """The :func:`fingerprint` of a file whose SHA-256 (hex) is known, e.g. a content-addressed blob.

    >>> fingerprint_of_sha256(hashlib.sha256(b"abc").hexdigest()) == fingerprint(b"abc")
    True
    """
    return hexdigest[:FINGERPRINT_DIGITS]


def _read(source: Path, member: str | None) -> bytes:
    if member is None:
        return source.read_bytes()
    if source.is_dir():
        return (source / member).read_bytes()
    with open_zip(source) as zf:
        return zf.read(member)


@dataclass
class InspectionDataset:
    """Images split into ``train`` (defect-free) and ``test`` (labelled), plus labelled defects
    usable for calibration (``ng`` images of an OK/NG set)."""

    root: Path
    layout: str
    train: list[ImageItem] = field(default_factory=list)
    test: list[ImageItem] = field(default_factory=list)

    @property
    def train_defects(self) -> list[ImageItem]:
        """Defect images that may be used at training time (OK/NG layout: the ``ng`` folder)."""
        return [it for it in self.test if it.label == 1] if self.layout == "okng" else []

    def named(self, name: str) -> ImageItem | None:
        """The first image, training images first, whose name or path in the data is ``name``.

        >>> ds = InspectionDataset(Path("d"), "okng", [ImageItem(Path("d"), "ok/a.png", "a.png", 0)])
        >>> ds.named("ok/a.png").name, ds.named("a.png").member, ds.named("b.png")
        ('a.png', 'ok/a.png', None)
        """
        return next((it for it in [*self.train, *self.test] if name in (it.name, it.member)), None)

    def summary(self) -> dict[str, int]:
        return {
            "train": len(self.train),
            "test_good": sum(1 for it in self.test if it.label == 0),
            "test_defect": sum(1 for it in self.test if it.label == 1),
        }


def _list_files(root: Path) -> tuple[list[str], Path]:
    """All file paths (POSIX, relative) under a folder or inside a zip."""
    if root.is_dir():
        files = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file()]
        return files, root
    if zipfile.is_zipfile(root):
        with open_zip(root) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
        # refuse absolute paths and parent references (never extracted, but keep names sane)
        names = [n for n in names if not n.startswith("/") and ".." not in PurePosixPath(n).parts]
        return sorted(names), root
    if root.exists():
        raise DatasetError(f"폴더나 zip 파일이 아님: {root} / Not a folder or a zip file: {root}")
    raise DatasetError(f"데이터 경로가 없음: {root} / Data path not found: {root}")


def _strip_common_top(files: list[str]) -> tuple[list[str], str]:
    """Drop one wrapping folder shared by every file (``parts.zip`` holding ``parts/ok/...``)."""
    visible = [f for f in files if not any(p.startswith((".", "__MACOSX")) for p in PurePosixPath(f).parts)]
    tops = {PurePosixPath(f).parts[0] for f in visible if len(PurePosixPath(f).parts) > 1}
    if len(tops) == 1 and all(len(PurePosixPath(f).parts) > 1 for f in visible):
        top = tops.pop()
        if folded(top) not in GOOD_NAMES + BAD_NAMES + ("train", "test"):
            return [f[len(top) + 1 :] for f in visible], top + "/"
    return visible, ""


def load_dataset(root: Path | str) -> InspectionDataset:
    """Discover the layout of a folder or zip and list its images (nothing is decoded yet)."""
    root = Path(root)
    files, src = _list_files(root)
    rel, prefix = _strip_common_top(files)
    images = [f for f in rel if is_image_name(f)]
    lower = {folded(f): f for f in rel}

    def item(f: str, label: int, kind: str, mask: str | None = None) -> ImageItem:
        name = unicodedata.normalize("NFC", PurePosixPath(f).name)
        return ImageItem(src, prefix + f, name, label, kind, mask)

    def parts(f: str) -> tuple[str, ...]:
        return tuple(folded(p) for p in PurePosixPath(f).parts)

    if any(parts(f)[:2] == ("train", "good") for f in images):
        ds = InspectionDataset(root, "mvtec")
        for f in images:
            p = parts(f)
            if p[:2] == ("train", "good") and len(p) == 3:
                ds.train.append(item(f, 0, "good"))
            elif p[0] == "test" and len(p) == 3:
                kind = PurePosixPath(f).parts[1]
                mask = None
                if p[1] != "good":
                    stem = PurePosixPath(f).stem
                    for cand in (f"ground_truth/{kind}/{stem}_mask.png", f"ground_truth/{kind}/{stem}.png"):
                        if folded(cand) in lower:
                            mask = prefix + lower[folded(cand)]
                            break
                ds.test.append(item(f, 0 if p[1] == "good" else 1, p[1], mask))
        return ds

    good = [f for f in images if len(parts(f)) == 2 and parts(f)[0] in GOOD_NAMES]
    bad = [f for f in images if len(parts(f)) == 2 and parts(f)[0] in BAD_NAMES]
    if good or bad:
        ds = InspectionDataset(root, "okng")
        for f in good:
            ds.test.append(item(f, 0, "good"))
            ds.train.append(item(f, 0, "good"))
        for f in bad:
            stem = PurePosixPath(f).stem
            mask = None
            for cand in (
                f"ng_masks/{stem}.png",
                f"ground_truth/{stem}_mask.png",
                f"ground_truth/{stem}.png",
                f"ng_boxes/{stem}.png",
            ):
                if folded(cand) in lower:
                    mask = prefix + lower[folded(cand)]
                    break
            ds.test.append(item(f, 1, "ng", mask))
        return ds

    flat = [f for f in images if not any(p.startswith(".") for p in parts(f))]
    if not flat:
        raise DatasetError(
            f"이미지를 찾지 못함: {root} (train/good, test/<종류> 또는 ok/, ng/ 폴더가 필요) / "
            f"No images found in {root} (expected train/good + test/<kind>, or ok/ and ng/ folders)"
        )
    return InspectionDataset(root, "flat", train=[item(f, 0, "good") for f in flat])


#: Names of mask files beside a defect image ``<stem>.<ext>`` in a folder of defects.
_MASK_CANDIDATES = (
    "{stem}_mask.png",
    "masks/{stem}.png",
    "masks/{stem}_mask.png",
    "ground_truth/{stem}_mask.png",
    "{stem}_box.png",
    "boxes/{stem}.png",
)

#: Folders whose mask files are boxes drawn round a defect, and the suffix of a box file's stem.
BOX_DIRS = ("ng_boxes", "boxes")
BOX_SUFFIX = "_box"


def defect_folder(folder: Path) -> list[ImageItem]:
    """The images of a folder of labelled defects (``--defects``), each with its mask when one of
    ``<stem>_mask.png``, ``masks/<stem>.png`` or ``ground_truth/<stem>_mask.png`` exists, else
    its box (``<stem>_box.png`` or ``boxes/<stem>.png``).

    Mask files are not taken as images. Images without a mask set the F1 threshold only; those
    with one also train the defect head (``head.py``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"불량 이미지 폴더가 없음: {folder} / Defect folder not found: {folder}")
    # lower-cased relative path -> the path as it is (names match case-insensitively)
    files = {
        p.relative_to(folder).as_posix().lower(): p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file()
    }
    masks = {
        k
        for k in files
        if k.endswith(("_mask.png", f"{BOX_SUFFIX}.png"))
        or k.split("/")[0] in ("masks", "ground_truth", *BOX_DIRS)
    }
    items = []
    for rel in sorted(set(files) - masks):
        name = PurePosixPath(files[rel]).name
        if not is_image_name(name):
            continue
        stem = PurePosixPath(rel).stem
        mask = next(
            (files[c.format(stem=stem)] for c in _MASK_CANDIDATES if c.format(stem=stem) in files), None
        )
        items.append(ImageItem(folder, files[rel], name, 1, "ng", mask))
    return items


def marked_defects(ds: InspectionDataset) -> list[ImageItem] | None:
    """The NG images of an OK/NG set as labelled defects when any of them has a mask or a box
    (``ng_masks/``, ``ng_boxes/``, ``ground_truth/``): they set the F1 threshold and the marked ones
    train a defect head. ``None`` otherwise (NG images then set the threshold only). The web's
    training job and ``aion inspect train`` take a data set's marks by this one rule.

    >>> marked_defects(InspectionDataset(Path("d"), "okng", test=[ImageItem(Path("d"), "ng/a.png", "a.png", 1, "ng")]))
    """
    if ds.layout != "okng":
        return None
    ng = [it for it in ds.test if it.label == 1]
    return ng if any(it.mask_member is not None for it in ng) else None


def sample_defects(ds: InspectionDataset, per_kind: int, seed: int = 0) -> list[ImageItem]:
    """``per_kind`` test images of each defect kind that have a mask, drawn at random (``seed``):
    labelled defects to train with. A model records them, and ``evaluate`` leaves them out.

    >>> sample_defects(InspectionDataset(Path("d"), "flat"), 5)
    []
    """
    if per_kind < 0:
        raise DatasetError(
            f"종류별 불량 수는 0 이상: {per_kind} / Defects per kind must be 0 or more: {per_kind}"
        )
    rng = np.random.default_rng(seed)
    chosen: list[ImageItem] = []
    for kind in sorted({it.kind for it in ds.test if it.label == 1}):
        pool = [it for it in ds.test if it.label == 1 and it.kind == kind and it.mask_member is not None]
        take = rng.permutation(len(pool))[: min(per_kind, len(pool))]
        chosen += [pool[i] for i in sorted(take)]
    return chosen


def iter_image_paths(paths: list[Path]) -> Iterator[Path]:
    """Expand files and folders (recursively, sorted) into image file paths."""
    for p in paths:
        if p.is_dir():
            yield from (q for q in sorted(p.rglob("*")) if q.is_file() and is_image_name(q.name))
        else:
            yield p
