"""What the browser tests share: Debian's chromium, the app served on a free port, a logged-in page.

Browser tests prove pages, not SQL: mark a module with :data:`BROWSER` and it runs once, on
PostgreSQL when ``AION_TEST_POSTGRES_URL`` is set (see ``tests/conftest.py``).
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from aion.line.broker import free_port
from tests.foundation.factories import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROME_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HAS_CHROMIUM = Path(CHROMIUM).exists()
NO_CHROMIUM = "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"
BROWSER = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The app on a real uvicorn server in a thread; yields its base URL."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        assert thread.is_alive(), "server stopped while starting"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium_page(locale: str = "ko-KR", **context: Any) -> Iterator[Page]:
    """A new page in headless chromium; the browser is closed afterwards, even on failure."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        try:
            yield browser.new_context(locale=locale, **context).new_page()
        finally:
            browser.close()


def log_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    """Through the Korean login form, as a person would; returns once the app let us in."""
    page.goto(f"{base}/login")
    page.get_by_label("이메일").fill(email)
    page.get_by_label("비밀번호").fill(password)
    page.get_by_label("비밀번호").press("Enter")
    page.wait_for_url(re.compile(r"^(?!.*/login)"))
