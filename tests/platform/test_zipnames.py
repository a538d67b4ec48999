"""Names inside users' zip files: Korean Windows (CP949), Info-ZIP (UTF-8 without the flag),
macOS (decomposed Hangul), and plain CP437, through the platform and the inspection engine."""

from __future__ import annotations

import unicodedata
import zipfile
from pathlib import Path

import pytest

from aion.platform.storage.archive import extract_zip, safe_member_name
from aion.solutions.inspection.data import load_dataset
from aion.zipnames import name_encoding, open_zip
from tests.platform.helpers import make_zip, png

KOREAN = {
    "주조품/양품/부품 1.png": png(1),
    "주조품/양품/부품 2.png": png(2),
    "주조품/불량/기공.png": png(3, defect=True),
}


@pytest.mark.parametrize("encoding", ["cp949", "utf-8"])
def test_unflagged_names_are_read_as_their_maker_wrote_them(tmp_path: Path, encoding: str) -> None:
    path = make_zip(tmp_path / "parts.zip", KOREAN, name_encoding=encoding)
    with zipfile.ZipFile(path) as plain:
        assert not any(i.flag_bits & 0x800 for i in plain.infolist())
        assert "주조품/양품/부품 1.png" not in plain.namelist()  # what zipfile alone makes of them
        assert name_encoding(plain) == encoding
    with open_zip(path) as zf:
        assert sorted(zf.namelist()) == sorted(KOREAN)
        assert zf.read("주조품/불량/기공.png") == KOREAN["주조품/불량/기공.png"]


def test_flagged_ascii_and_cp437_names_are_left_as_the_format_defines(tmp_path: Path) -> None:
    flagged = make_zip(tmp_path / "flagged.zip", KOREAN)  # zipfile sets the flag for non-ASCII names
    legacy = make_zip(tmp_path / "legacy.zip", {"café.png": png(1)}, name_encoding="cp437")
    with open_zip(flagged) as zf:
        assert sorted(zf.namelist()) == sorted(KOREAN)
    with zipfile.ZipFile(flagged) as zf:
        assert name_encoding(zf) is None
    with open_zip(legacy) as zf:  # b"caf\x82" is neither UTF-8 nor CP949
        assert zf.namelist() == ["café.png"]


def test_decomposed_hangul_from_macos_is_given_composed(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "양품/a.png")
    assert nfd != "양품/a.png"
    path = make_zip(tmp_path / "mac.zip", {nfd: png(1)}, name_encoding="utf-8")
    with open_zip(path) as zf:
        (info,) = zf.infolist()
        assert safe_member_name(info.filename) == "양품/a.png"
    entries = extract_zip(path, tmp_path / "out")
    assert [e.path for e in entries] == ["양품/a.png"]
    assert (tmp_path / "out" / "양품" / "a.png").read_bytes() == png(1)


def test_the_engine_labels_korean_folders_of_a_windows_zip(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "parts.zip", KOREAN, name_encoding="cp949")
    ds = load_dataset(path)
    assert ds.layout == "okng"
    assert sorted(it.name for it in ds.train) == ["부품 1.png", "부품 2.png"]
    (bad,) = ds.train_defects
    assert bad.name == "기공.png" and bad.load().shape == (64, 64, 3)


def test_an_archive_rewritten_in_place_is_looked_at_again(tmp_path: Path) -> None:
    path = tmp_path / "parts.zip"
    make_zip(path, {"양품/a.png": png(1)}, name_encoding="cp949")
    for _ in range(2):  # the second open takes the encoding found by the first
        with open_zip(path) as zf:
            assert zf.namelist() == ["양품/a.png"]
    make_zip(path, {"불량/b.png": png(2), "불량/c.png": png(3)}, name_encoding="utf-8")
    with open_zip(path) as zf:
        assert sorted(zf.namelist()) == ["불량/b.png", "불량/c.png"]
