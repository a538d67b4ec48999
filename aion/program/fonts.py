"""Find and register a Korean TrueType font for reportlab PDFs.

Order: ``AION_KOREAN_FONT`` (a path to a .ttf), Debian's ``fonts-nanum`` at
``/usr/share/fonts/truetype/nanum/NanumGothic.ttf``, then any installed TrueType font
whose name says it covers Korean (Nanum, Noto Sans/Serif KR/CJK, Un, Baekmuk, Malgun,
AppleGothic). reportlab cannot embed OpenType-CFF (``.otf``) or ``.ttc`` collections
reliably, so only ``.ttf`` files are used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from aion.program.errors import ReportError

NANUM_REGULAR = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
NANUM_BOLD = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".fonts",
    Path.home() / ".local/share/fonts",
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)
_KOREAN_HINTS = (
    "nanum",
    "notosanskr",
    "notoserifkr",
    "notosanscjk",
    "unbatang",
    "undotum",
    "baekmuk",
    "malgun",
    "applegothic",
    "gulim",
    "batang",
)
REGULAR_NAME = "AionKorean"
BOLD_NAME = "AionKorean-Bold"


@dataclass(frozen=True)
class KoreanFont:
    regular: Path
    bold: Path  # the regular file again when no bold face was found
    regular_name: str = REGULAR_NAME
    bold_name: str = BOLD_NAME


def find_korean_font() -> KoreanFont:
    """Locate a Korean TrueType font, or raise :class:`ReportError` naming the package to install."""
    env = os.environ.get("AION_KOREAN_FONT")
    if env:
        p = Path(env)
        if not p.is_file():
            raise ReportError(
                f"AION_KOREAN_FONT 파일이 없습니다: {env} / AION_KOREAN_FONT does not exist: {env}"
            )
        return KoreanFont(p, p)
    if NANUM_REGULAR.is_file():
        return KoreanFont(NANUM_REGULAR, NANUM_BOLD if NANUM_BOLD.is_file() else NANUM_REGULAR)
    candidates: list[Path] = []
    for d in FONT_DIRS:
        if d.is_dir():
            try:
                candidates.extend(p for p in d.rglob("*") if p.suffix.lower() == ".ttf")
            except OSError:
                continue
    korean = sorted(
        (
            p
            for p in candidates
            if any(h in p.name.lower().replace("-", "").replace("_", "") for h in _KOREAN_HINTS)
        ),
        key=lambda p: ("bold" in p.name.lower(), len(p.name), str(p)),
    )
    if not korean:
        raise ReportError(
            "한글 글꼴(TTF)을 찾을 수 없습니다. 'sudo apt-get install fonts-nanum'으로 설치하거나 "
            "AION_KOREAN_FONT에 .ttf 경로를 지정하십시오 / No Korean TrueType font found. Install the "
            "'fonts-nanum' package (sudo apt-get install fonts-nanum) or set AION_KOREAN_FONT to a .ttf path"
        )
    regular = korean[0]
    bold = next((p for p in korean if "bold" in p.name.lower() and p.parent == regular.parent), regular)
    return KoreanFont(regular, bold)


@cache
def register_korean_font() -> KoreanFont:
    """Register the Korean font with reportlab (once per process) and return it."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    font = find_korean_font()
    try:
        pdfmetrics.registerFont(TTFont(font.regular_name, str(font.regular)))
        pdfmetrics.registerFont(TTFont(font.bold_name, str(font.bold)))
    except TTFError as e:
        raise ReportError(
            f"글꼴을 불러올 수 없습니다: {font.regular} / Cannot load font: {font.regular}: {e}"
        ) from e
    addMapping(font.regular_name, 0, 0, font.regular_name)
    addMapping(font.regular_name, 1, 0, font.bold_name)
    addMapping(font.regular_name, 0, 1, font.regular_name)
    addMapping(font.regular_name, 1, 1, font.bold_name)
    return font
