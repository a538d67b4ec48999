"""Translations: gettext catalogs (Babel) compiled in memory from the shipped ``.po`` files.

Each domain keeps its own catalog file (``locale/ko/LC_MESSAGES/<domain>.po``); they are merged.

Message ids are English; the Korean catalog translates them. Korean is the default language.

>>> gettext("ko", "Log in")
'로그인'
>>> gettext("en", "Log in")
'Log in'
>>> gettext("ko", "Welcome, {name}", name="Kim")
'Kim님, 환영합니다'
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES: tuple[str, ...] = ("ko", "en")
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}


@lru_cache(maxsize=8)
def translations(lang: str) -> NullTranslations:
    """The compiled catalog for ``lang`` (English is the identity)."""
    files = sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"))
    if lang == "en" or not files:
        return NullTranslations()
    merged: Translations | None = None
    for po in files:  # one catalog per domain (messages.po, platform.po, line.po, ...)
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        part = Translations(fp=buf)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    assert merged is not None
    return merged


def gettext(lang: str, msgid: str, **params: Any) -> str:
    """Translate ``msgid`` into ``lang`` and fill ``{params}``."""
    text = translations(lang if lang in LANGUAGES else "ko").gettext(msgid)
    return text.format(**params) if params else text


def bilingual(msgid: str, **params: Any) -> str:
    """Korean first, then English: for the command line and logs read by people."""
    ko = gettext("ko", msgid, **params)
    en = gettext("en", msgid, **params)
    return ko if ko == en else f"{ko} / {en}"


class LocalizedError(Exception):
    """An error whose message is a catalog id plus parameters, shown in the reader's language."""

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(gettext("en", msgid, **params))

    def localized(self, lang: str) -> str:
        return gettext(lang, self.msgid, **self.params)

    def bilingual(self) -> str:
        return bilingual(self.msgid, **self.params)
