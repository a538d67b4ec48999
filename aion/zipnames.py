"""The names inside a user's zip file, as the person who made it wrote them.

A zip entry's name is UTF-8 only when the archiver set the entry's UTF-8 flag (bit 11). Many do
not: Windows' own "compressed folder" writes names in the system's code page (CP949 on a Korean
PC), Info-ZIP on Linux and older macOS tools write UTF-8 without the flag. Python's
:mod:`zipfile` reads every unflagged name as CP437, so ``주조품/ok/a.png`` from a Korean PC would
arrive as ``┴╓┴╢╟░/ok/a.png``: folder names that label images (``양품/``, ``불량/``) go unseen and
every page shows garbage.

:func:`open_zip` opens an archive with the encoding its unflagged names decode in, tried in
this order: UTF-8, then CP949 (the superset of EUC-KR that Korean Windows uses), else CP437 as
the zip format defines. One encoding for the whole archive: an archiver writes all of its names
one way. :func:`member_name` gives a name in NFC, the form Korean text takes everywhere else
(macOS writes decomposed Hangul, NFD).

Tests: ``tests/platform/test_zipnames.py`` (archives written the way Windows and Info-ZIP write them).
"""

from __future__ import annotations

import os
import zipfile
from typing import IO

#: Encodings tried, in order, for the names of an archive's entries without the UTF-8 flag.
ENCODINGS = ("utf-8", "cp949")

_UTF8_FLAG = 0x800
#: (path, size, mtime) of archives looked at -> their names' encoding (None: as the format says)
_KNOWN: dict[tuple[str, int, int], str | None] = {}


def name_encoding(zf: zipfile.ZipFile) -> str | None:
    """The first of :data:`ENCODINGS` in which every unflagged non-ASCII name of ``zf`` (opened
    without ``metadata_encoding``) decodes, or ``None`` (keep CP437, or nothing to decode)."""
    raw = [
        info.orig_filename.encode("cp437")  # zipfile decoded the bytes as CP437: undo it
        for info in zf.infolist()
        if not info.flag_bits & _UTF8_FLAG and not info.orig_filename.isascii()
    ]
    if not raw:
        return None
    for encoding in ENCODINGS:
        try:
            for name in raw:
                name.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def open_zip(file: str | os.PathLike[str] | IO[bytes]) -> zipfile.ZipFile:
    """``zipfile.ZipFile(file)`` for reading, its unflagged names decoded by :func:`name_encoding`.

    A file on disk is looked at once per version (path, size, time): a reader that opens the
    same archive for each of its images reads the central directory once per image, as before.
    Raises what :class:`zipfile.ZipFile` raises (``BadZipFile``, ``OSError``).
    """
    if not isinstance(file, str | os.PathLike):  # an open file: looked at each time
        with zipfile.ZipFile(file) as plain:
            encoding = name_encoding(plain)
        file.seek(0)
    else:
        st = os.stat(file)
        key = (os.fspath(file), st.st_size, st.st_mtime_ns)
        if key not in _KNOWN:
            with zipfile.ZipFile(file) as plain:
                if len(_KNOWN) >= 64:
                    _KNOWN.clear()
                _KNOWN[key] = name_encoding(plain)
        encoding = _KNOWN[key]
    return zipfile.ZipFile(file, metadata_encoding=encoding)
