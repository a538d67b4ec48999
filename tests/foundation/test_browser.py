"""A real browser (Debian's chromium driven by Playwright) against the real server.

A company member logs in, sees Korean, switches to English, and fails to open another
company's page.
"""

from __future__ import annotations

from pathlib import Path

from tests.browser import BROWSER, chromium_page

from .factories import PASSWORD, World

pytestmark = BROWSER


def test_member_logs_in_sees_korean_switches_to_english_and_is_refused_other_company(
    server: tuple[str, World], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base, world = server
    with chromium_page("ko-KR") as page:
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
