"""In a real browser (Debian's chromium): drag the threshold line, watch the trade-off, save it, try a photo."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine, select

from aion.core.db import system_session
from aion.platform import modelregistry
from aion.platform.models import DatasetVersion
from aion.platform.runtime import PlatformStorage
from aion.settings import Settings
from aion.web.app import create_app
from tests.foundation.factories import PASSWORD, World, make_world
from tests.foundation.test_browser import CHROME_ARGS, CHROMIUM, _free_port
from tests.inspectionweb.tools import N_NG, N_OK
from tests.platform.helpers import png
from tests.platform.webtools import image_zip_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def server(tmp_path: Path, engine: Engine, db_url: str) -> Iterator[tuple[str, World]]:
    world = make_world(engine)
    settings = Settings(env="test", data_dir=tmp_path / "data", database_url=db_url, secret_key="k" * 48)
    port = _free_port()
    config = uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_config=None)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", world
    srv.should_exit = True
    thread.join(timeout=20)


def test_drag_threshold_save_it_and_try_a_photo(
    server: tuple[str, World], engine: Engine, tmp_path: Path, model_file: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, world = server
    archive = tmp_path / "parts.zip"
    archive.write_bytes(image_zip_bytes(tmp_path, N_OK, N_NG))
    photo = tmp_path / "new_part.png"
    photo.write_bytes(png(77))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        page = browser.new_page(locale="ko-KR")
        page.goto(f"{base}/login")
        page.get_by_label("이메일").fill(world.emails["a_member"])
        page.get_by_label("비밀번호").fill(PASSWORD)
        page.get_by_label("비밀번호").press("Enter")
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
        expect(page.locator("#live-fr-n")).to_have_text(str(N_OK))
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
        browser.close()
