"""In a real browser (Debian's chromium): drag the threshold line, watch the trade-off, save it, try a photo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from aion.core.db import system_session
from aion.platform import modelregistry
from aion.platform.models import DatasetVersion
from aion.platform.runtime import PlatformStorage
from aion.solutions.inspection import InspectionModel
from tests.browser import BROWSER, chromium_page, log_in
from tests.foundation.factories import World
from tests.inspectionweb.tools import N_NG, N_OK
from tests.platform.helpers import png
from tests.platform.webtools import image_zip_bytes

pytestmark = BROWSER


def test_drag_threshold_save_it_and_try_a_photo(
    server: tuple[str, World], engine: Engine, tmp_path: Path, model_file: Path
) -> None:
    from playwright.sync_api import expect

    base, world = server
    archive = tmp_path / "parts.zip"
    archive.write_bytes(image_zip_bytes(tmp_path, N_OK, N_NG))
    photo = tmp_path / "new_part.png"
    photo.write_bytes(png(77))
    with chromium_page("ko-KR") as page:
        log_in(page, base, world.emails["a_member"])
        page.goto(f"{base}/datasets")
        page.get_by_label("이름").fill("부싱")
        page.get_by_role("button", name="만들기").click()
        page.get_by_label("파일", exact=True).set_input_files(str(archive))
        page.get_by_role("button", name="업로드", exact=True).click()
        expect(page.get_by_role("heading", name="부싱 v1")).to_be_visible()

        # the trained file registered on that version, as a training job's outcome would be
        with system_session(engine) as s:
            dv = s.scalars(select(DatasetVersion)).one()
            model = modelregistry.get_or_create_model(
                s, world.company_a, "부싱 검사", "inspection", dv.dataset_id
            )
            store = PlatformStorage.at(tmp_path / "data").store
            mv = modelregistry.register_version(
                s, store, model, model_file, dataset_version_id=dv.id, job_id=None, params={}, metrics={}
            )
            url = f"{base}/models/{model.id}"
            first = mv.id
        page.goto(url)
        page.get_by_role("link", name="평가 보고서").click()
        expect(page.get_by_role("heading", name=re.compile("평가 보고서"))).to_be_visible()
        expect(page.locator("#live-esc-n")).to_have_text("0")  # the obvious defects all fail
        expect(page.locator("#threshold-line")).to_have_count(1)  # drawn by the page's script
        # one click sets the threshold training found for the target false-reject rate, and back
        meta = InspectionModel.load(model_file).meta
        for method in ("frr", "f1"):
            page.locator(f"#preset-{method}").click()
            shown = float(page.locator("#threshold").input_value())
            assert shown == pytest.approx(meta.thresholds[method], rel=1e-5)
        expect(page.locator("#live-esc-n")).to_have_text("0")

        # drag the red line to the far left: every good part would be rejected, no defect passes
        page.locator("#hist").scroll_into_view_if_needed()
        box = page.locator("#hist").bounding_box()
        assert box is not None
        line_x = float(page.locator("#threshold-line").get_attribute("x1") or 0) / 640 * box["width"]
        page.mouse.move(box["x"] + line_x, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2, steps=8)
        page.mouse.up()
        expect(page.locator("#live-frr")).to_have_text("100.0%")
        # the good images on the page are those held back in training (the rest built the bank)
        n_held = len(InspectionModel.load(model_file).meta.calibration["good_fingerprints"])
        expect(page.locator("#live-fr-n")).to_have_text(str(n_held))
        # ... and by keyboard: the slider's far right passes everything
        page.locator("#threshold-range").focus()
        page.keyboard.press("End")
        expect(page.locator("#live-escape")).to_have_text("100.0%")
        expect(page.locator("#live-frr")).to_have_text("0.0%")
        page.keyboard.press("Home")
        expect(page.locator("#live-frr")).to_have_text("100.0%")
        page.get_by_role("button", name="이 임계값을 새 버전으로 저장").click()
        expect(page.locator("#threshold-saved")).to_contain_text("새 버전으로 저장했습니다")
        expect(page.locator("#m-frr")).to_have_text("100.0%")
        assert f"/versions/{first}/" not in page.url

        # the saved version judges a new good photo with the new (very low) threshold
        page.get_by_role("link", name="새 사진으로 모델 시험").click()
        page.get_by_label("사진(PNG, JPEG, BMP, TIFF)").set_input_files(str(photo))
        page.get_by_role("button", name="검사").click()
        expect(page.locator("#verdict")).to_have_text("불합격")
        expect(page.locator("#heatmap")).to_be_visible()

        # the first version's good images to check: each heat map drawn, each a link to the
        # image on the labeling page (where a defective one is labelled NG)
        page.goto(f"{url}/versions/{first}/report")
        check = page.locator("#good-to-check")
        expect(check.get_by_role("heading", name="다시 확인할 양품 이미지")).to_be_visible()
        expect(check.locator("figure")).to_have_count(len(meta.calibration["unusual_good"]))
        heat = check.locator("img").first
        heat.scroll_into_view_if_needed()
        expect(heat).to_have_js_property("complete", True)
        assert heat.evaluate("i => i.naturalWidth") == 64
        link = check.locator("figcaption a").first
        name = link.inner_text()
        link.click()
        item = page.locator(f"li#{page.url.split('#')[1]}")
        expect(item).to_have_attribute("data-name", name)
        expect(page.locator("#viewer-name")).to_have_text(name)  # that image opened, not the first
        expect(item).to_have_attribute("aria-current", "true")
        item.get_by_role("button", name="NG").click()  # a defective part among the good ones
        expect(item).to_have_attribute("data-label", "ng")
