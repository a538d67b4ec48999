"""Safe zip handling: every attack is refused and nothing is stored half."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from aion.platform.storage.archive import ArchiveLimits, extract_zip, ingest_zip
from aion.platform.storage.blobstore import LocalBlobStore
from aion.platform.storage.errors import UnsafeArchiveError


def make_zip(path: Path, entries: list[tuple[str, bytes]], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


def test_good_archive_extracts_with_hashes(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "ok.zip", [("ok/a.png", b"aaa"), ("ng\\b.png", b"bb"), ("dir/", b"")])
    entries = extract_zip(z, tmp_path / "out")
    assert sorted((e.path, e.size) for e in entries) == [("ng/b.png", 2), ("ok/a.png", 3)]
    assert (tmp_path / "out" / "ng" / "b.png").read_bytes() == b"bb"
    blobs = LocalBlobStore(tmp_path / "blobs")
    ingested = ingest_zip(z, blobs)
    assert {e.sha256 for e in ingested} == {e.sha256 for e in entries}
    assert all(blobs.exists(e.sha256) for e in ingested)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.txt", "Path traversal"),
        ("ok/../../evil.txt", "Path traversal"),
        ("..\\evil.txt", "Path traversal"),
        ("/etc/cron.d/evil", "Absolute path"),
        ("C:\\Windows\\evil.dll", "Absolute path"),
    ],
)
def test_hostile_names_are_refused_and_nothing_is_written(tmp_path: Path, name: str, reason: str) -> None:
    z = make_zip(tmp_path / "bad.zip", [("fine.txt", b"fine"), (name, b"evil")])
    with pytest.raises(UnsafeArchiveError, match=reason):
        extract_zip(z, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip"]  # no output, no leftovers
    blobs = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(UnsafeArchiveError, match=reason):
        ingest_zip(z, blobs)
    assert list((tmp_path / "blobs" / "blobs").iterdir()) == []


def test_symlinks_duplicates_and_corrupt_archives_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchiveError, match="symlink"):
        extract_zip(make_zip(tmp_path / "l.zip", [("a", b"a")], symlink="link"), tmp_path / "o1")
    with pytest.warns(UserWarning, match="Duplicate name"):
        dup = make_zip(tmp_path / "d.zip", [("a.txt", b"1"), ("a.txt", b"2")])
    with pytest.raises(UnsafeArchiveError, match="Duplicate"):
        extract_zip(dup, tmp_path / "o2")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(UnsafeArchiveError, match="Corrupt"):
        extract_zip(junk, tmp_path / "o3")


def test_zip_bombs_are_refused_by_ratio_and_by_total_size(tmp_path: Path) -> None:
    bomb = make_zip(tmp_path / "bomb.zip", [("zeros.bin", bytes(20 * 1024 * 1024))])  # ~1000:1
    with pytest.raises(UnsafeArchiveError, match="ratio"):
        extract_zip(bomb, tmp_path / "o1")
    import os

    many = make_zip(tmp_path / "many.zip", [(f"f{i}.bin", os.urandom(4000)) for i in range(10)])
    with pytest.raises(UnsafeArchiveError, match="beyond 30000 bytes"):
        extract_zip(many, tmp_path / "o2", ArchiveLimits(max_total_bytes=30_000))
    with pytest.raises(UnsafeArchiveError, match="Too many entries"):
        extract_zip(many, tmp_path / "o3", ArchiveLimits(max_files=5))
    # ingestion that fails half way removes the blobs it had created
    blobs = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(UnsafeArchiveError):
        ingest_zip(many, blobs, ArchiveLimits(max_total_bytes=30_000))
    assert list((tmp_path / "blobs" / "blobs").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blobs", "bomb.zip", "many.zip"]
