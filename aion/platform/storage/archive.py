"""Safe zip handling: refuse path traversal, absolute paths, links and zip bombs; all or nothing.

Checks, before a byte is written (from the central directory), then again while streaming
(actual bytes counted, never trusting the headers alone):

* names: no absolute paths, drive letters, ``..`` components, NUL bytes, or duplicates
  (backslashes are treated as separators first);
* entry types: regular files and directories only; symlinks, devices and FIFOs are refused,
  as are encrypted entries;
* zip bombs: per-entry compression ratio at most ``max_ratio``, total uncompressed size at most
  ``max_total_bytes``, at most ``max_files`` entries.

:func:`extract_zip` writes into a fresh temporary folder and renames it into place only when
every entry passed; :func:`ingest_zip` streams entries into a blob store and deletes the blobs
it created if any entry fails. Either way nothing is stored half.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import unicodedata
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, NamedTuple

from aion.platform.storage.blobstore import BlobStore
from aion.platform.storage.errors import UnsafeArchiveError
from aion.zipnames import open_zip

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int = 100_000
    max_total_bytes: int = 20 * 1024**3
    max_ratio: float = 100.0
    max_file_bytes: int | None = None


class ArchiveEntry(NamedTuple):
    path: str
    size: int
    sha256: str


def safe_member_name(name: str) -> str:
    """The entry's normalised relative POSIX path, or :class:`UnsafeArchiveError`. Names are
    given in NFC, the form Korean text takes everywhere else (macOS writes decomposed Hangul).

    >>> safe_member_name("images\\\\ok\\\\a.png")
    'images/ok/a.png'
    >>> try:
    ...     safe_member_name("../etc/passwd")
    ... except UnsafeArchiveError:
    ...     print("refused")
    refused
    """
    if "\x00" in name:
        raise UnsafeArchiveError(f"압축 파일 내 잘못된 이름: {name!r} / NUL byte in archive name: {name!r}")
    unified = unicodedata.normalize("NFC", name).replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified):
        raise UnsafeArchiveError(f"압축 파일 내 절대 경로: {name!r} / Absolute path in archive: {name!r}")
    parts = [p for p in unified.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafeArchiveError(f"압축 파일 내 경로 이탈: {name!r} / Path traversal in archive: {name!r}")
    if not parts:
        raise UnsafeArchiveError(f"압축 파일 내 빈 이름: {name!r} / Empty name in archive: {name!r}")
    return str(PurePosixPath(*parts))


def check_zip(
    zf: zipfile.ZipFile, limits: ArchiveLimits = ArchiveLimits()
) -> list[tuple[zipfile.ZipInfo, str]]:
    """Validate the central directory; returns the file entries with their safe names (decoded
    as the archive's maker wrote them when ``zf`` came from :func:`~aion.zipnames.open_zip`, in NFC)."""
    infos = zf.infolist()
    if len(infos) > limits.max_files:
        raise UnsafeArchiveError(
            f"압축 파일 항목이 너무 많음: {len(infos)} > {limits.max_files} / "
            f"Too many entries in archive: {len(infos)} > {limits.max_files}"
        )
    seen: set[str] = set()
    total = 0
    files = []
    for info in infos:
        name = safe_member_name(info.filename)
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            what = "symlink" if kind == stat.S_IFLNK else "special file"
            raise UnsafeArchiveError(
                f"압축 파일 내 링크/특수 파일 거부: {info.filename} / "
                f"Refused {what} in archive: {info.filename}"
            )
        if info.flag_bits & 0x1:
            raise UnsafeArchiveError(
                f"암호화된 항목은 지원하지 않음: {info.filename} / "
                f"Encrypted entry not supported: {info.filename}"
            )
        if name in seen:
            raise UnsafeArchiveError(f"압축 파일 내 중복 이름: {name} / Duplicate name in archive: {name}")
        seen.add(name)
        if info.is_dir():
            continue
        ratio = (
            info.file_size / info.compress_size if info.compress_size else float(info.file_size > 0) * 1e18
        )
        if ratio > limits.max_ratio:
            raise UnsafeArchiveError(
                f"압축 폭탄 의심: {info.filename} 압축률 {ratio:.0f} > {limits.max_ratio:g} / "
                f"Zip bomb suspected: {info.filename} ratio {ratio:.0f} > {limits.max_ratio:g}"
            )
        if limits.max_file_bytes is not None and info.file_size > limits.max_file_bytes:
            raise UnsafeArchiveError(
                f"파일이 너무 큼: {info.filename} {info.file_size} > {limits.max_file_bytes} / "
                f"File too large: {info.filename} {info.file_size} > {limits.max_file_bytes}"
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise UnsafeArchiveError(
                f"압축 해제 크기 초과: > {limits.max_total_bytes} bytes / "
                f"Archive expands beyond {limits.max_total_bytes} bytes"
            )
        files.append((info, name))
    return files


class _Counted:
    """Reads an entry while enforcing the declared size and the running total."""

    def __init__(self, raw: IO[bytes], info: zipfile.ZipInfo, budget: list[int]) -> None:
        self.raw, self.info, self.budget, self.seen = raw, info, budget, 0

    def read(self, n: int = -1) -> bytes:
        block = self.raw.read(n)
        self.seen += len(block)
        self.budget[0] -= len(block)
        if self.seen > self.info.file_size or self.budget[0] < 0:
            raise UnsafeArchiveError(
                f"선언보다 큰 항목: {self.info.filename} / Entry larger than declared: {self.info.filename}"
            )
        return block


def reason_without_path(e: BaseException, path: str | os.PathLike[str]) -> str:
    """A library's reason for refusing a file, less the server's path of it (quoted or not): the
    user sent the file under another name, and the server's folders are none of their business.

    >>> reason_without_path(OSError("cannot identify image file '/srv/stage/x.png'"), "/srv/stage/x.png")
    'cannot identify image file'
    >>> reason_without_path(ValueError(), "/srv/x")
    'ValueError'
    """
    where = os.fspath(path)
    return str(e).replace(f"'{where}'", "").replace(where, "").strip(" :") or type(e).__name__


def corrupt_archive(path: str | os.PathLike[str], e: BaseException) -> UnsafeArchiveError:
    """A zip that cannot be read; the reason is the library's, less the server's path of the
    staged file (the upload report names the file as the user sent it).

    >>> import zipfile
    >>> str(corrupt_archive("/srv/stage/00000", zipfile.BadZipFile("File is not a zip file")))
    '손상된 압축 파일(zip으로 읽을 수 없음): File is not a zip file / Corrupt archive (not a readable zip): File is not a zip file'
    """
    reason = reason_without_path(e, path)
    return UnsafeArchiveError(
        f"손상된 압축 파일(zip으로 읽을 수 없음): {reason} / Corrupt archive (not a readable zip): {reason}"
    )


def _entries(path: str | os.PathLike[str], limits: ArchiveLimits) -> Iterator[tuple[str, _Counted]]:
    try:
        zf = open_zip(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise corrupt_archive(path, e) from e
    with zf:
        budget = [limits.max_total_bytes]
        for info, name in check_zip(zf, limits):
            with zf.open(info) as raw:
                yield name, _Counted(raw, info, budget)


def extract_zip(
    path: str | os.PathLike[str], dest: str | os.PathLike[str], limits: ArchiveLimits = ArchiveLimits()
) -> list[ArchiveEntry]:
    """Extract into ``dest`` (which must not exist) atomically; returns the files with their hashes."""
    target = Path(dest)
    if target.exists():
        raise UnsafeArchiveError(f"대상 폴더가 이미 있음: {target} / Destination exists: {target}")
    staging = target.parent / f".extract-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    out: list[ArchiveEntry] = []
    try:
        for name, reader in _entries(path, limits):
            file_path = staging / name
            file_path.parent.mkdir(parents=True, exist_ok=True)
            h = hashlib.sha256()
            size = 0
            with open(file_path, "xb") as f:
                while block := reader.read(1024 * 1024):
                    h.update(block)
                    f.write(block)
                    size += len(block)
            out.append(ArchiveEntry(name, size, h.hexdigest()))
        os.replace(staging, target)
    except zipfile.BadZipFile as e:
        raise corrupt_archive(path, e) from e
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out


def ingest_zip(
    path: str | os.PathLike[str], store: BlobStore, limits: ArchiveLimits = ArchiveLimits()
) -> list[ArchiveEntry]:
    """Store every file of the archive as a blob; on any failure, remove the blobs this call created."""
    created: list[str] = []
    out: list[ArchiveEntry] = []
    try:
        for name, reader in _entries(path, limits):
            info = store.put_stream(reader)  # type: ignore[arg-type]
            if info.created:
                created.append(info.sha256)
            out.append(ArchiveEntry(name, info.size, info.sha256))
    except BaseException as e:
        for sha in created:
            with contextlib.suppress(Exception):
                store.delete(sha)
        if isinstance(e, zipfile.BadZipFile):
            raise corrupt_archive(path, e) from e
        raise
    return out
