"""A real browser (Debian's chromium driven by Playwright) against the real server.

A company member logs in, sees Korean, switches to English, and fails to open another
company's page.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from aion.settings import Settings
from aion.web.app import create_app

from .factories import PASSWORD, World, make_world

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Debian's chromium is not installed (apt-get install chromium); .ci/run installs it",
    ),
]
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, engine: Engine, db_url: str) -> Iterator[tuple[str, World]]:
    world = make_world(engine)
    settings = Settings(env="test", data_dir=tmp_path / "data", database_url=db_url, secret_key="k" * 48)
    port = _free_port()
    config = uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_config=None)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", world
    srv.should_exit = True
    thread.join(timeout=10)


def test_member_logs_in_sees_korean_switches_to_english_and_is_refused_other_company(
    server: tuple[str, World], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, world = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        page = browser.new_page(locale="ko-KR")
        page.goto(f"{base}/")
        expect(page).to_have_url(f"{base}/login?next=/")
        assert page.locator("html").get_attribute("lang") == "ko"
        expect(page.get_by_role("heading", name="AI-on 로그인")).to_be_visible()

        # Keyboard only: the form is usable without a mouse.
        page.get_by_label("이메일").fill(world.emails["a_member"])
        page.get_by_label("비밀번호").fill(PASSWORD)
        page.get_by_label("비밀번호").press("Enter")
        expect(page.get_by_role("heading", name="a_member님, 환영합니다")).to_be_visible()
        expect(page.get_by_role("link", name="대시보드")).to_be_visible()
        page.screenshot(path=str(tmp_path / "dashboard-ko.png"))

        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", name="Welcome, a_member")).to_be_visible()
        assert page.locator("html").get_attribute("lang") == "en"
        expect(page.get_by_role("link", name="Companies")).to_be_visible()

        page.goto(f"{base}/companies/{world.company_b}")
        expect(page.get_by_text("Not found.")).to_be_visible()
        assert "베타화학" not in page.content()
        response = page.goto(f"{base}/companies/{world.company_b}/export.json")
        assert response is not None and response.status == 404

        page.goto(f"{base}/companies/{world.company_a}")
        expect(page.get_by_role("heading", name="알파정밀")).to_be_visible()
        browser.close()
