"""Pages fit a phone's width: nothing makes the page itself scroll sideways.

A line leader or a consultant on the shop floor opens the app on a phone or a small tablet. With
the demo data loaded, a company member, a company administrator and the program's administrator
each follow the links of every page they can reach from the dashboard (one page of each kind:
``/models/7`` stands for every model page) in Korean, at 390 x 844 CSS pixels, in a real browser.
A wide table may scroll inside its own box; a long word wraps; the page must not be wider than
the screen.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from tests.browser import BROWSER, chromium_page, serving

from .test_links import SKIP

pytestmark = BROWSER

#: A phone held upright (CSS pixels).
PHONE = {"width": 390, "height": 844}

#: Roles that walk the pages (their demo accounts).
ROLES = ("company_member", "company_admin", "admin")

#: Links that open a file, not a page (an item's image, its preview or mask).
FILES = re.compile(r"/(file|preview|mask)$")

#: Scripts run in the page: its overflow, and the elements that stick out while their parent
#: does not (what to look at when it fails).
WIDER = "document.documentElement.scrollWidth - window.innerWidth"
CULPRITS = """() => { const w = window.innerWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect(), p = el.parentElement.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1 && p.right <= w + 1)
      out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' to ' + Math.round(r.right) + 'px');
  }
  return out.slice(0, 5); }"""


def _kind(path: str) -> str:
    """``/models/12/versions/3?x=1`` -> ``/models/N/versions/N``: one page of each kind is enough."""
    return re.sub(r"\d+", "N", urlsplit(path).path)


def test_no_page_is_wider_than_a_phone(demo_app) -> None:  # type: ignore[no-untyped-def]
    app, accounts = demo_app
    wide: list[str] = []
    with serving(app) as base, chromium_page("ko-KR", viewport=PHONE) as page:
        for account in (a for a in accounts if a.role in ROLES):
            page.context.clear_cookies()
            page.goto(f"{base}/login")
            page.get_by_label("이메일").fill(account.email)
            page.get_by_label("비밀번호").fill(account.password)
            page.get_by_label("비밀번호").press("Enter")
            page.wait_for_url(re.compile(r"^(?!.*/login)"))
            kinds: set[str] = set()
            queue = ["/"]
            while queue:
                path = queue.pop(0)
                if _kind(path) in kinds:
                    continue
                kinds.add(_kind(path))
                response = page.goto(f"{base}{path}")
                assert response is not None and response.ok, f"{account.role}: {path}"
                if "text/html" not in (response.headers.get("content-type") or ""):
                    continue
                if page.evaluate(WIDER) > 1:
                    wide.append(f"{account.role}: {path}: {page.evaluate(CULPRITS)}")
                for href in page.eval_on_selector_all(
                    "a[href]", "els => els.map(e => e.getAttribute('href'))"
                ):
                    url = urlsplit(urljoin(f"{base}{path}", href))
                    target = url.path + (f"?{url.query}" if url.query else "")
                    if (
                        url.netloc == urlsplit(base).netloc
                        and not SKIP.search(target)
                        and not FILES.search(url.path)
                    ):
                        queue.append(target)
            assert len(kinds) > 5, f"{account.role} reached only {sorted(kinds)}"
    assert not wide, "pages wider than a phone:\n" + "\n".join(wide)
