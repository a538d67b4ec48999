"""Sensor events marked by dragging on the chart, in a real browser."""

from __future__ import annotations

from pathlib import Path

from tests.browser import BROWSER, chromium_page, log_in
from tests.foundation.factories import World

pytestmark = BROWSER


def test_member_marks_sensor_events_by_dragging(server: tuple[str, World], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    base, world = server
    csv = tmp_path / "pump_vibration.csv"
    csv.write_text(
        "t,vibration,temp\n"
        + "".join(f"{i},{(i % 17) / 10 + (5 if 60 < i < 70 else 0)},{40 + i % 3}\n" for i in range(200))
    )
    with chromium_page("en-US") as page:
        log_in(page, base, world.emails["a_member"])
        page.goto(f"{base}/datasets")
        page.get_by_label("이름").fill("펌프 진동")
        page.get_by_label("종류").select_option("sensor_series")
        page.get_by_role("button", name="만들기").click()
        page.get_by_label("파일", exact=True).set_input_files(str(csv))
        page.get_by_role("button", name="업로드", exact=True).click()
        expect(page.get_by_role("columnheader", name="vibration")).to_be_visible()  # first rows previewed
        page.get_by_role("link", name="펌프 진동").click()
        page.get_by_role("link", name="이벤트 표시").click()
        expect(page.locator("#chart polyline")).to_have_count(3)

        def drag(a: float, b: float) -> None:
            box = page.locator("#chart").bounding_box()
            assert box is not None
            y = box["y"] + box["height"] / 2
            page.mouse.move(box["x"] + box["width"] * a, y)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * b, y, steps=5)
            page.mouse.up()

        drag(0.1, 0.2)
        expect(page.locator("#event-list li")).to_have_count(1)
        page.keyboard.press("x")  # clears this file's events
        expect(page.locator("#event-list li")).to_have_count(0)
        drag(0.3, 0.35)
        expect(page.locator("#event-list li")).to_contain_text([world.emails["a_member"]])
        expect(page.locator("#chart rect.event")).to_have_count(1)
        page.get_by_role("button", name="라벨을 새 버전으로 저장").click()
        expect(page.get_by_role("heading", name="펌프 진동 v2")).to_be_visible()
        page.get_by_role("link", name="펌프 진동").click()
        page.get_by_role("link", name="이벤트 표시").click()
        expect(page.locator("#chart rect.event")).to_have_count(1)  # kept in the new version
