"""The whole platform flow in a real browser (Debian's chromium driven by Playwright).

A company member uploads tiny images the test makes, labels two NG by keyboard and one by dragging a defect region, saves the
labels as a version, trains an inspection model as a job twice (smallest settings), watches
the jobs finish, compares the two model versions, promotes one and rolls back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.browser import BROWSER, chromium_page, log_in
from tests.foundation.factories import World
from tests.platform.helpers import png

pytestmark = BROWSER
TRAIN_TIMEOUT_MS = 180_000


def test_member_uploads_labels_trains_compares_promotes_and_rolls_back(
    server: tuple[str, World], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base, world = server
    images = []
    for i in range(8):
        p = tmp_path / "camera" / f"part_{i:02d}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(png(i, defect=i in (0, 1)))
        images.append(str(p))

    with chromium_page("ko-KR") as page:
        log_in(page, base, world.emails["a_member"])
        page.get_by_role("navigation").get_by_role("link", name="데이터셋").click()

        # a new data set, and eight images from the browser
        page.get_by_label("이름").fill("부싱 외관")
        page.get_by_role("button", name="만들기").click()
        expect(page.get_by_role("heading", name=re.compile("부싱 외관"))).to_be_visible()
        page.get_by_label("파일", exact=True).set_input_files(images)
        page.get_by_role("button", name="업로드", exact=True).click()
        expect(page.get_by_role("heading", name="부싱 외관 v1")).to_be_visible()
        expect(page.locator(".thumbs img")).to_have_count(8)

        # label by keyboard: n, n (two NG), arrow right (skip), o (OK)
        page.get_by_role("link", name="부싱 외관").click()
        page.get_by_role("link", name="이미지 라벨링").click()
        expect(page.locator("#viewer-pos")).to_have_text("1 / 8")
        page.keyboard.press("n")
        expect(page.locator("#viewer-pos")).to_have_text("2 / 8")
        page.keyboard.press("n")
        expect(page.locator("#viewer-pos")).to_have_text("3 / 8")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("o")
        expect(page.locator(".label-list li.label-ng")).to_have_count(2)
        expect(page.locator(".label-list li.label-ok")).to_have_count(1)
        # a defect region by dragging on the fifth image: it becomes NG with its box
        expect(page.locator("#viewer-pos")).to_have_text("5 / 8")
        box = page.locator("#viewer-img").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.7, steps=5)
        page.mouse.up()
        expect(page.locator(".label-list li.label-ng")).to_have_count(3)
        expect(page.locator("#viewer-box")).to_be_visible()
        drawn = json.loads(page.locator(".label-list li").nth(4).get_attribute("data-box") or "null")
        assert drawn == pytest.approx([0.2, 0.3, 0.6, 0.7], abs=0.01)
        expect(page.locator(".label-list li.label-ng .by").first).to_have_text(world.emails["a_member"])
        page.screenshot(path=str(tmp_path / "label.png"), full_page=True)
        page.get_by_role("button", name="라벨을 새 버전으로 저장").click()
        expect(page.get_by_role("heading", name="부싱 외관 v2")).to_be_visible()
        expect(page.get_by_text("OK 1 · NG 3")).to_be_visible()
        version_url = page.url.split("?")[0]

        # train twice with the smallest settings; the job page follows the run live
        for frr in ("0.01", "0.1"):
            page.goto(version_url)
            page.get_by_label("모델 이름").fill("bushing")
            page.get_by_label("해상도(픽셀)").select_option("64")
            page.get_by_label("허용 과검출(양품 불합격)률").fill(frr)
            page.get_by_role("button", name="학습 시작").click()
            expect(page.locator("#job-state")).to_have_text("성공", timeout=TRAIN_TIMEOUT_MS)
            expect(page.locator("pre.log")).to_contain_text("trained")
        page.screenshot(path=str(tmp_path / "job.png"), full_page=True)
        page.locator("#job-model").click()

        # compare v1 and v2 side by side, promote v1 then v2, roll back to v1
        expect(page.get_by_role("heading", name="bushing")).to_be_visible()
        page.get_by_role("button", name="선택한 버전 비교").click()
        expect(page.get_by_role("heading", name=re.compile("버전 비교"))).to_be_visible()
        expect(page.locator("table.compare thead th")).to_have_count(3)
        expect(page.get_by_text("params.target_frr")).to_be_visible()
        expect(page.locator("table.compare th[title='metrics.threshold']")).to_have_text("임계값")
        page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
        page.get_by_role("button", name="v1을 운영(production)으로 승격").click()
        expect(page.locator("#alias-production")).to_have_text("v1")
        page.get_by_role("button", name="v2을 운영(production)으로 승격").click()
        expect(page.locator("#alias-production")).to_have_text("v2")
        page.get_by_role("button", name="운영 버전 되돌리기").click()
        expect(page.locator("#alias-production")).to_have_text("v1")
        expect(page.locator("table").last).to_contain_text("되돌리기")
        page.screenshot(path=str(tmp_path / "model.png"), full_page=True)
