"""Small data the platform tests make themselves: PNG images, archives, a world of two companies."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


def png(seed: int, size: int = 64, defect: bool = False) -> bytes:
    """A noisy grey texture; ``defect`` draws a bright square (an obvious NG)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    img = 128 + 30 * np.sin(x / 3.0) * np.sin(y / 3.0) + rng.normal(0, 5, (size, size))
    if defect:
        img[size // 3 : size // 3 + 10, size // 3 : size // 3 + 10] = 255
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def write_images(folder: Path, n_ok: int, n_ng: int = 0, start: int = 0) -> Path:
    """``folder/ok/*.png`` and ``folder/ng/*.png``."""
    for i in range(n_ok):
        (folder / "ok").mkdir(parents=True, exist_ok=True)
        (folder / "ok" / f"ok_{start + i:03d}.png").write_bytes(png(start + i))
    for i in range(n_ng):
        (folder / "ng").mkdir(parents=True, exist_ok=True)
        (folder / "ng" / f"ng_{start + i:03d}.png").write_bytes(png(1000 + start + i, defect=True))
    return folder


class _RawNameInfo(zipfile.ZipInfo):
    """An entry whose name is written in ``encoding`` without the UTF-8 flag, as Windows'
    compressed folders (the system code page) and Info-ZIP (UTF-8) write names."""

    encoding = "cp949"

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode(self.encoding), self.flag_bits & ~0x800


def make_zip(
    path: Path,
    entries: dict[str, bytes],
    compression: int = zipfile.ZIP_DEFLATED,
    name_encoding: str | None = None,
) -> Path:
    """A zip of ``entries``; with ``name_encoding``, names in that encoding and no UTF-8 flag."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items():
            if name_encoding is None:
                zf.writestr(name, data)
                continue
            info = _RawNameInfo(name, date_time=(2026, 11, 30, 12, 0, 0))
            info.encoding = name_encoding
            info.compress_type = compression
            zf.writestr(info, data)
    return path


def traversal_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok/a.png", png(1))
        zf.writestr("../../evil.png", png(2))
    return path


def bomb_zip(path: Path) -> Path:
    """One entry that expands ~1000x (20 MB of zeros)."""
    return make_zip(path, {"ok/a.png": png(1), "big.png": b"\0" * (20 * 1024 * 1024)})


def blob_files(root: Path) -> set[str]:
    return (
        {p.name for p in (root / "blobs").rglob("*") if p.is_file()} if (root / "blobs").exists() else set()
    )


def scoped(engine: Any, world: Any, key: str = "a_member") -> Any:
    """A session bound to ``key``'s company and name, as a request of theirs would be."""
    from aion.core.db import session_factory
    from aion.core.tenancy import Scope

    s = session_factory(engine)()
    company = world.company_a if key.startswith("a_") else world.company_b
    Scope.for_companies(world.emails[key], [company], actor_id=world.users[key]).bind(s)
    return s
