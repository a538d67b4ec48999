"""Small helpers for HTML forms and redirects."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi.responses import RedirectResponse


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site relative paths: never an open redirect.

    >>> safe_next("/companies/3"), safe_next("https://evil.example/"), safe_next("//evil.example")
    ('/companies/3', '/', '/')
    """
    if not target:
        return default
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def redirect(url: str, msg: str | None = None) -> RedirectResponse:
    if msg:
        url += ("&" if "?" in url else "?") + f"msg={msg}"
    return RedirectResponse(url, status_code=303)


def pick_language(text: str, lang: str) -> str:
    """From a bilingual 'Korean / English' message, the part in the reader's language.

    >>> pick_language("잘못된 값 / Bad value", "en")
    'Bad value'
    """
    if " / " not in text:
        return text
    ko, en = text.split(" / ", 1)
    return en if lang == "en" else ko
