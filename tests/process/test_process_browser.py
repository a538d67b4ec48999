"""The process monitoring flow in a real browser (Debian's chromium driven by Playwright).

A company member creates a sensor data set, uploads a generated log, drags a normal period on the
chart, goes back to the proposed one, trains, watches the job finish, reads the explained alarms
and moves the false-alarm target with the slider.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser import BROWSER, chromium_page, log_in
from tests.foundation.factories import World
from tests.process.flow import sensor_csv

pytestmark = BROWSER
TRAIN_TIMEOUT_MS = 180_000


def test_member_uploads_accepts_normal_period_trains_and_moves_the_target(
    server: tuple[str, World],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    base, world = server
    log = tmp_path / "pump-a.csv"
    log.write_bytes(sensor_csv())
    with chromium_page("ko-KR") as page:
        log_in(page, base, world.emails["a_member"])
        page.get_by_role("navigation").get_by_role("link", name="공정 모니터링").click()
        page.get_by_role("link", name=re.compile("데이터셋 페이지에서 만드세요")).click()

        page.get_by_label("이름").fill("펌프 A")
        page.get_by_label("종류").select_option(label="센서 시계열")
        page.get_by_role("button", name="만들기").click()
        page.get_by_label("파일", exact=True).set_input_files(str(log))
        page.get_by_role("button", name="업로드", exact=True).click()
        expect(page.get_by_role("heading", name=re.compile("펌프 A v1"))).to_be_visible()
        page.get_by_role("link", name="펌프 A").first.click()
        page.get_by_role("link", name="정상 구간과 학습").click()

        # the proposed period is filled in; dragging on the chart marks another; then back to the proposal
        start, end = page.get_by_label("정상 구간: 첫 행"), page.get_by_label("정상 구간: 끝 행(포함 안 함)")
        proposed = (start.input_value(), end.input_value())
        box = page.locator("#series").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.05, box["y"] + 20)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 20, steps=5)
        page.mouse.up()
        dragged = (int(start.input_value()), int(end.input_value()))
        assert 60 <= dragged[0] <= 90 and 430 <= dragged[1] <= 470, dragged
        page.get_by_role("button", name="제안된 구간 사용").click()
        assert (start.input_value(), end.input_value()) == proposed
        page.get_by_role("button", name="학습", exact=True).click()

        # the page follows the job until the model is there
        page.get_by_role("link", name=re.compile("경보 보기")).click(timeout=TRAIN_TIMEOUT_MS)
        expect(page.get_by_role("heading", name=re.compile("^경보 · 펌프 A"))).to_be_visible()
        alarms = page.locator("#alarm-list > li[id^=alarm-]")
        expect(alarms.first).to_contain_text("주요 원인은")
        before = alarms.count()
        assert before >= 2
        expect(page.locator("#alarm-list")).to_contain_text("pressure 값이 평소보다 높음")
        chart = page.locator("#alarms-chart").bounding_box()
        assert chart is not None
        page.mouse.move(chart["x"] + chart["width"] / 2, chart["y"] + 30)
        expect(page.locator("#alarms-chart-tip")).to_contain_text("score")

        # the slider moves the target to 20 %: more alarms, recomputed without training
        page.get_by_label("오경보 목표(정상 구간 행의 %)").fill("9")
        expect(page).to_have_url(re.compile(r"pos=9"))
        expect(page.locator("#target-label")).to_have_text("20.0%")
        assert alarms.count() > before
        page.get_by_label("오경보 목표(정상 구간 행의 %)").fill("0")
        expect(page).to_have_url(re.compile(r"pos=0"))
        assert alarms.count() <= before
