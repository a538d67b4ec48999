"""The training form's inspection area in a real browser: boxes dragged on the version's photo
fill the form's fields, can be removed, and follow what is typed; the checkbox for an area
that follows the part is submitted with them, and the turn it may take only with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import BROWSER, chromium_page, log_in
from tests.foundation.factories import World
from tests.platform.webtools import image_zip_bytes

pytestmark = BROWSER


def test_boxes_drawn_on_the_photo_fill_the_fields(server: tuple[str, World], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    base, world = server
    archive = tmp_path / "set.zip"
    archive.write_bytes(image_zip_bytes(tmp_path, 4, 0, seed=80))
    with chromium_page("ko-KR") as page:
        log_in(page, base, world.emails["a_member"])
        page.goto(base + "/datasets")
        page.get_by_label("이름").fill("커버")
        page.get_by_role("button", name="만들기").click()
        page.get_by_label("파일", exact=True).set_input_files(str(archive))
        page.get_by_role("button", name="업로드", exact=True).click()
        expect(page.get_by_role("heading", name="커버 v1")).to_be_visible()
        photo = page.locator("#area-photo")
        expect(photo).to_be_visible()
        page.wait_for_function("document.getElementById('area-photo').naturalWidth > 0")
        photo.scroll_into_view_if_needed()
        box = photo.bounding_box()
        assert box is not None

        def drag(x0: float, y0: float, x1: float, y1: float) -> None:
            page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
            page.mouse.down()
            page.mouse.move(box["x"] + x1 * box["width"], box["y"] + y1 * box["height"], steps=4)
            page.mouse.up()

        drag(0.1, 0.1, 0.9, 0.8)  # the inspected area
        crop = [float(v) for v in page.locator("#area-crop").input_value().split(",")]
        assert crop == pytest.approx([0.1, 0.1, 0.9, 0.8], abs=0.02)
        expect(page.locator(".area-box.crop")).to_have_count(1)
        page.get_by_role("radio", name="무시 영역").check()
        drag(0.6, 0.15, 0.85, 0.3)
        drag(0.2, 0.6, 0.3, 0.7)
        ignore = page.locator("#area-ignore").input_value().split("; ")
        assert len(ignore) == 2
        assert [float(v) for v in ignore[0].split(",")] == pytest.approx([0.6, 0.15, 0.85, 0.3], abs=0.02)
        expect(page.locator(".area-box.ignore")).to_have_count(2)
        page.locator(".area-box.ignore .area-remove").first.click()  # removes the first ignore box
        assert page.locator("#area-ignore").input_value() == ignore[1]
        expect(page.locator(".area-box.ignore")).to_have_count(1)
        page.locator("#area-crop").fill("")  # typed: the drawing follows the field
        expect(page.locator(".area-box.crop")).to_have_count(0)
        page.get_by_role("button", name="지우기").click()
        assert page.locator("#area-ignore").input_value() == ""
        # where the part would be found in the version's photos, before training
        preview = page.get_by_role("button", name="부품을 어디서 찾는지 미리보기")
        preview.click()
        expect(page.locator("#area-preview-status")).to_have_text("먼저 검사 영역을 그리세요.")
        page.locator("#area-crop").fill("0.1,0.1,0.9,0.9")
        preview.click()
        expect(page.locator("#area-preview figure")).to_have_count(4)  # every photo of the version
        expect(page.locator("#area-preview .area-found")).to_have_count(4)
        expect(page.locator("#area-preview figcaption").first).to_contain_text("ok/")
        # how far the part may turn: only for an area that follows the part, and the preview uses it
        turn = page.locator("#area-turn")
        expect(turn).to_be_disabled()
        page.get_by_label("부품 위치를 따라 영역 이동", exact=False).check()
        expect(turn).to_be_enabled()
        turn.fill("10")
        with page.expect_response(lambda r: "area-preview" in r.url and "turn=10" in r.url) as answer:
            preview.click()
        assert answer.value.ok
        expect(page.locator("#area-preview figure")).to_have_count(4)
        page.locator("#area-crop").fill("")
        # following the part is a checkbox the form submits: ticked with no box round the part, the
        # server names what is missing (and queues nothing)
        page.get_by_label("부품 위치를 따라 영역 이동", exact=False).check()
        page.get_by_role("button", name="학습 시작").click()
        expect(page.get_by_text("검사 영역이 필요합니다", exact=False)).to_be_visible()
