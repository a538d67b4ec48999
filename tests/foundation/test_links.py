"""Every link a page shows opens for the user who sees it, and no page shows an empty value.

With the demo data loaded (two companies with data sets, models, a line, process monitors, calls
and applications, and a user of every role), each demo user follows the links of every page
they can reach from the dashboard, breadth first: a page that offers a link its reader may not
open (403), that leads nowhere (404) or that fails (500) is a broken promise to that user, and so
is a page that shows a program's empty value (``None``, ``NaN``, ``undefined``) where a reader
expects words.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from fastapi.testclient import TestClient

#: Not followed: downloads and files, live streams, language switches and signing out.
SKIP = re.compile(
    r"/logout|/download|/export|/api/|/events|/stream|/blobs?/|\.(zip|aion|png|csv|json|pdf|xlsx)\b|lang="
)

#: Pages followed per user at most, a guard against an endless series of links (the demo's
#: administrator reaches about 350 pages, a company member about 60).
MAX_PAGES = 1000


#: Elements whose text is not a shown value: scripts, styles, and text a user edits (a
#: questionnaire's YAML may say "None" as an English answer).
HIDDEN = ("script", "style", "textarea")


class _Page(HTMLParser):
    """A page's links and the words it shows."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.words: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and not href.startswith(("#", "mailto:", "javascript:")):
            self.hrefs.append(href)
        self._hidden += tag in HIDDEN

    def handle_endtag(self, tag: str) -> None:
        self._hidden -= tag in HIDDEN

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.words += data.split()


#: Words of program values that leak into a page: Python's and JavaScript's empty values.
LEAKS = {"None", "nan", "NaN", "undefined", "null"}


def _read(base: str, html: str) -> tuple[list[str], set[str]]:
    """A page's links to follow, and the leaked values it shows."""
    parser = _Page()
    parser.feed(html)
    out = []
    for href in parser.hrefs:
        url = urlsplit(urljoin(base, href))
        if url.netloc not in ("", "testserver"):
            continue
        path = url.path + (f"?{url.query}" if url.query else "")
        if not SKIP.search(path):
            out.append(path)
    return out, LEAKS & {w.strip(".,:;()[]=") for w in parser.words}


def test_every_link_a_user_is_shown_opens_for_them(demo_app) -> None:  # type: ignore[no-untyped-def]
    app, accounts = demo_app
    broken: list[str] = []
    with TestClient(app) as client:
        for account in accounts:
            client.cookies.clear()
            r = client.post("/api/auth/login", json={"email": account.email, "password": account.password})
            assert r.status_code == 200, r.text
            seen: set[str] = set()
            queue: list[tuple[str, str]] = [("/", "(start)")]
            while queue and len(seen) < MAX_PAGES:
                path, source = queue.pop(0)
                if path in seen:
                    continue
                seen.add(path)
                page = client.get(path)
                if page.status_code != 200:
                    broken.append(f"{account.role}: {source} -> {path}: {page.status_code}")
                    continue
                if "text/html" in page.headers.get("content-type", ""):
                    links, leaks = _read(path, page.text)
                    queue += [(link, path) for link in links if link not in seen]
                    if leaks:
                        broken.append(f"{account.role}: {path} shows {sorted(leaks)}")
            assert len(seen) > 5, f"{account.role} reached only {sorted(seen)}"
    assert not broken, "\n".join(broken)
