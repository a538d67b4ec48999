"""Checks on uploaded files before anything is stored (no web, no database).

:func:`stage` takes the files of one upload (loose files and zip archives), extracts archives
safely (traversal, links, bombs refused by :mod:`aion.platform.storage.archive`), checks each
file against the data set's kind (wrong type, corrupt image, unreadable table), hashes it,
drops exact duplicates, and returns a :class:`Staged` upload with a report. Any problem makes
the whole upload fail (the caller stores nothing), unless the uploader chose to skip files with
problems (``skip_problems``): then a wrong file type, a corrupt image or an unreadable table is
listed as skipped and the rest is stored. An unsafe or corrupt archive is refused either way.
Hidden files, ``__MACOSX`` and the files Windows leaves in folders (``Thumbs.db``,
``desktop.ini``) are always skipped. Every reason is ``"Korean / English"``
(:func:`aion.web.forms.pick_language` shows one).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from aion.platform.storage.archive import ArchiveLimits, extract_zip, reason_without_path, safe_member_name
from aion.platform.storage.errors import UnsafeArchiveError
from aion.solutions.inspection.data import BAD_NAMES, GOOD_NAMES, folded

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}
# the registered type (…spreadsheetml.sheet) is 65 characters, one more than the items column holds
XLSX = "application/xlsx"
TABLE_TYPES = {
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".parquet": "application/parquet",
    ".xlsx": XLSX,
}
ALLOWED = {"inspection_images": IMAGE_TYPES, "sensor_series": TABLE_TYPES, "tabular": TABLE_TYPES}
MASK_DIRS = ("ground_truth", "masks", "ng_masks")
MAX_IMAGE_PIXELS = 64_000_000


@dataclass(frozen=True)
class StagedFile:
    path: str  # relative POSIX path inside the data set
    local: Path  # where the bytes are now (a temporary file)
    sha256: str
    size: int
    media_type: str
    label: str | None


@dataclass
class Staged:
    """An upload that passed every check, still in a temporary folder."""

    kind: str
    files: list[StagedFile] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    workdir: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def cleanup(self) -> None:
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def report(self) -> dict[str, object]:
        return {
            "added": len(self.files),
            "bytes": sum(f.size for f in self.files),
            "skipped": self.skipped,
            "problems": self.problems,
        }


def label_from_path(path: str) -> str | None:
    """The OK/NG label implied by folder names (``ok/``, ``ng/``, MVTec ``train/good``, ``test/<defect>``).

    >>> label_from_path("ok/a.png"), label_from_path("parts/NG/b.png"), label_from_path("test/scratch/c.png")
    ('ok', 'ng', 'ng')
    >>> label_from_path("a.png") is None, label_from_path("주조품/양품/a.png"), label_from_path("불량/b.png")
    (True, 'ok', 'ng')
    """
    parts = [folded(p) for p in PurePosixPath(path).parts[:-1]]
    for i, p in enumerate(parts):
        if p in GOOD_NAMES:
            return "ok"
        if p in BAD_NAMES:
            return "ng"
        if p == "test" and i + 1 < len(parts):
            return "ok" if parts[i + 1] in GOOD_NAMES else "ng"
    return None


#: Files that Windows writes into folders of pictures; never part of a data set.
SYSTEM_FILES = ("thumbs.db", "ehthumbs.db", "desktop.ini")


def _hidden(path: str) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in PurePosixPath(path).parts)


def _system(path: str) -> bool:
    return PurePosixPath(path).name.lower() in SYSTEM_FILES


def check_image(local: Path) -> str | None:
    """``None`` if the file decodes as an image of sane size, else the reason (which names what is
    wrong with the file, never where the server keeps it).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "x.png"
    ...     _ = p.write_bytes(b"not an image")
    ...     print(check_image(p).split(" / ")[0])
    이미지로 읽을 수 없음: PNG, JPEG, BMP, TIFF 이미지가 아니거나 손상됨
    """
    from PIL import Image, UnidentifiedImageError

    if local.stat().st_size == 0:
        return "빈 파일(0바이트) / empty file (0 bytes)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(local) as im:
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    return f"이미지가 너무 큼: {w}x{h} / image too large: {w}x{h}"
                im.verify()
            with Image.open(local) as im:
                im.load()
    except UnidentifiedImageError:
        return (
            "이미지로 읽을 수 없음: PNG, JPEG, BMP, TIFF 이미지가 아니거나 손상됨 / "
            "not a readable image: not a PNG, JPEG, BMP or TIFF image, or damaged"
        )
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        return f"이미지가 너무 큼: {reason_without_path(e, local)} / image too large: {reason_without_path(e, local)}"
    except (OSError, SyntaxError, ValueError) as e:
        return (
            f"손상된 이미지: {reason_without_path(e, local)} / corrupt image: {reason_without_path(e, local)}"
        )
    return None


def _is_workbook(local: Path) -> bool:
    """An .xlsx file is a zip holding ``xl/workbook.xml`` (read later by pandas/openpyxl)."""
    import zipfile

    try:
        with zipfile.ZipFile(local) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def check_table(local: Path, suffix: str) -> str | None:
    """``None`` if the file looks like a readable table (CSV/TSV text with a header, or Parquet)."""
    if suffix == ".xlsx":
        return (
            None
            if _is_workbook(local)
            else "엑셀 통합 문서(.xlsx)로 읽을 수 없음 / not a readable Excel workbook (.xlsx)"
        )
    with open(local, "rb") as f:
        head = f.read(65536)
        if suffix == ".parquet":
            f.seek(0, 2)
            if f.tell() < 12:
                return _BAD_PARQUET
            f.seek(-4, 2)
            return None if head[:4] == b"PAR1" and f.read(4) == b"PAR1" else _BAD_PARQUET
    if b"\x00" in head:
        return "텍스트 표에 이진 데이터가 있음 / binary data in a text table"
    for enc in ("utf-8-sig", "cp949"):
        try:
            text = head.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        return "문자 인코딩이 UTF-8이나 CP949가 아님 / text encoding not UTF-8 or CP949"
    first = text.splitlines()[0] if text.strip() else ""
    if not first or not any(d in first for d in (",", "\t", ";")):
        return "구분된 열이 있는 머리글 행이 없음 / no header row with separated columns"
    return None


_BAD_PARQUET = "손상된 Parquet 파일 / corrupt parquet file"


def _sha256(local: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(local, "rb") as f:
        while block := f.read(4 * 1024 * 1024):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def stage(
    sources: Iterable[tuple[str, Path]],
    kind: str,
    tmp_root: Path,
    known_sha256: Iterable[str] = (),
    limits: ArchiveLimits = ArchiveLimits(),
    skip_problems: bool = False,
) -> Staged:
    """Check one upload. ``sources`` are ``(name, local file)``; names ending in ``.zip`` are expanded.

    ``known_sha256``: content already in the version the upload extends (reported as duplicates).
    ``skip_problems``: a file's own problem (type, corrupt content) skips it instead of failing
    the upload. The caller must call :meth:`Staged.cleanup` when done.
    """
    allowed = ALLOWED[kind]
    tmp_root.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="stage-", dir=tmp_root))
    out = Staged(kind=kind, workdir=workdir)
    seen: dict[str, str] = dict.fromkeys(known_sha256, "")  # "": in the version extended
    paths: set[str] = set()
    candidates: list[tuple[str, Path]] = []
    file_problems = out.skipped if skip_problems else out.problems
    for name, local in sources:
        try:
            rel = safe_member_name(name)
        except UnsafeArchiveError as e:
            out.problems.append({"path": name, "reason": str(e)})
            continue
        if rel.lower().endswith(".zip"):
            dest = workdir / f"zip-{uuid.uuid4().hex}"
            try:
                entries = extract_zip(local, dest, limits)
            except UnsafeArchiveError as e:
                out.problems.append({"path": rel, "reason": str(e)})
                continue
            candidates.extend((e.path, dest / e.path) for e in entries)
        else:
            candidates.append((rel, local))
    for rel, local in sorted(candidates):
        if _hidden(rel):
            out.skipped.append({"path": rel, "reason": "숨김 파일 / hidden file"})
            continue
        if _system(rel):
            out.skipped.append({"path": rel, "reason": "Windows 시스템 파일 / Windows system file"})
            continue
        suffix = PurePosixPath(rel).suffix.lower()
        if suffix not in allowed:
            shown, kinds = suffix or "(없음)", ", ".join(allowed)
            file_problems.append(
                {
                    "path": rel,
                    "reason": f"허용되지 않는 파일 형식 {shown} (허용: {kinds}) / "
                    f"wrong file type {suffix or '(none)'}; allowed: {kinds}",
                }
            )
            continue
        reason = check_image(local) if allowed is IMAGE_TYPES else check_table(local, suffix)
        if reason is not None:
            file_problems.append({"path": rel, "reason": reason})
            continue
        sha, size = _sha256(local)
        if sha in seen:
            out.skipped.append({"path": rel, "reason": _duplicate(seen[sha])})
            continue
        if rel in paths:
            out.problems.append(
                {"path": rel, "reason": "같은 경로의 파일이 둘 / two files with the same path"}
            )
            continue
        seen[sha] = rel
        paths.add(rel)
        parts = {p.lower() for p in PurePosixPath(rel).parts[:-1]}
        is_mask = allowed is IMAGE_TYPES and bool(parts & set(MASK_DIRS))
        label = None if is_mask or allowed is not IMAGE_TYPES else label_from_path(rel)
        media = "mask" if is_mask else allowed[suffix]
        out.files.append(StagedFile(rel, local, sha, size, media, label))
    return out


def _duplicate(first: str) -> str:
    """The reason a file with the content of ``first`` (``""``: of the version extended) is skipped."""
    if not first:
        return "이전 버전에 같은 내용이 있음 / duplicate of a file in the previous version"
    return f"같은 내용의 파일이 이미 있음: {first} / duplicate of {first}"


def table_head(local: Path, rows: int = 15, max_bytes: int = 65536) -> tuple[list[str], list[list[str]]]:
    """Header and first ``rows`` rows of a CSV/TSV file (for the preview page); empty if unreadable.

    >>> import tempfile, os
    >>> p = Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("t,v\\n0,1.5\\n1,1.7\\n")
    >>> table_head(p)
    (['t', 'v'], [['0', '1.5'], ['1', '1.7']])
    """
    import csv
    import io

    with open(local, "rb") as f:
        head = f.read(max_bytes)
    for enc in ("utf-8-sig", "cp949"):
        try:
            text = head.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        return [], []
    lines = text.splitlines()
    if len(head) == max_bytes and lines:
        lines = lines[:-1]  # the last line may be cut
    if not lines:
        return [], []
    delimiter = max((",", "\t", ";"), key=lambda d: lines[0].count(d))
    parsed = list(csv.reader(io.StringIO("\n".join(lines[: rows + 1])), delimiter=delimiter))
    return parsed[0], parsed[1:]


def series_points(local: Path, max_points: int = 1500, max_rows: int = 2_000_000) -> dict[str, list[float]]:
    """Numeric columns of a CSV/TSV file, thinned to at most ``max_points`` (for the event chart).

    Reads the file once as a stream (constant memory apart from the thinned points).

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("t,p,name\\n" + "".join(f"{i},{i * 2},x\\n" for i in range(10)))
    >>> pts = series_points(p, max_points=5)
    >>> sorted(pts), pts["p"]
    (['p', 't'], [0.0, 4.0, 8.0, 12.0, 16.0])
    """
    import csv

    header, _ = table_head(local, rows=1)
    if not header:
        return {}
    with open(local, "rb") as f:
        n_rows = max(0, sum(1 for _ in f) - 1)
    stride = max(1, -(-min(n_rows, max_rows) // max_points))
    with open(local, encoding="utf-8-sig", errors="replace") as f:
        first = f.readline()
    delimiter = max((",", "\t", ";"), key=first.count)
    cols: dict[str, list[float]] = {h: [] for h in header}
    numeric = dict.fromkeys(header, True)
    with open(local, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        next(reader, None)
        for i, row in enumerate(reader):
            if i >= max_rows:
                break
            if i % stride:
                continue
            for h, v in zip(header, row, strict=False):
                if not numeric[h]:
                    continue
                try:
                    cols[h].append(float(v))
                except ValueError:
                    numeric[h] = False
    return {h: v for h, v in cols.items() if numeric[h] and v}
