"""Painting a defect mask in the labelling page, in a real browser (Debian's chromium, Playwright).

A member picks the brush, paints over a defect, saves with ``s``; erases part of it and moves on
(which saves); reloads and finds the painting; saves the labels as a version whose NG image
carries the mask that training reads.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import Engine

from aion.core.db import session_factory
from aion.core.tenancy import Scope
from aion.platform import datasets
from aion.platform.runtime import PlatformStorage
from tests.browser import BROWSER, chromium_page, log_in
from tests.foundation.factories import World
from tests.platform.helpers import write_images

pytestmark = BROWSER


@pytest.fixture
def patient_expect() -> Iterator[None]:
    """Saves go through the server and the store: on a loaded 2-core CI machine they took over
    Playwright's default 5 s at times (the mask state and the list item each failed once there), so
    this test's assertions wait up to 20 s; the global option is put back afterwards."""
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=None)  # None: Playwright's default


def test_a_member_paints_erases_and_saves_a_defect_mask(
    server: tuple[str, World], engine: Engine, tmp_path: Path, patient_expect: None
) -> None:
    from playwright.sync_api import expect

    base, world = server
    storage = PlatformStorage.at(tmp_path / "data")  # the server's data directory
    folder = write_images(tmp_path / "parts", n_ok=3, n_ng=1)
    with session_factory(engine)() as s, s.begin():
        Scope.for_companies(
            world.emails["a_member"], [world.company_a], actor_id=world.users["a_member"]
        ).bind(s)
        ds = datasets.create_dataset(s, world.company_a, "brackets", "inspection_images")
        datasets.register_folder(s, storage.store, storage.tmp, ds, folder)
        ds_id = ds.id

    with chromium_page("ko-KR", viewport={"width": 1280, "height": 900}) as page:
        log_in(page, base, world.emails["a_member"])
        page.goto(f"{base}/datasets/{ds_id}/label")
        first = page.locator(".label-list li").first
        expect(first).to_contain_text("ng/ng_000.png")
        expect(page.locator("#viewer-pos")).to_have_text("1 / 4")
        ready = page.locator("#viewer-mask")  # data-ready: the image shown, painting may start
        expect(ready).to_have_attribute("data-ready", first.get_attribute("data-id") or "")

        # the brush: a stroke across the left part of the image's middle row
        page.keyboard.press("b")
        expect(page.get_by_role("button", name="붓 b")).to_have_attribute("aria-pressed", "true")
        box = page.locator("#viewer-mask").bounding_box()
        assert box is not None and box["width"] > 200

        def at(fx: float, fy: float) -> tuple[float, float]:
            return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy

        page.mouse.move(*at(0.1, 0.5))
        page.mouse.down()
        page.mouse.move(*at(0.4, 0.5), steps=8)
        page.mouse.up()
        expect(page.locator("#mask-state")).to_have_text("마스크가 아직 저장되지 않음")
        page.mouse.move(*at(0.1, 0.9))  # a slip of the hand, undone with Ctrl+Z
        page.mouse.down()
        page.mouse.move(*at(0.5, 0.9), steps=4)
        page.mouse.up()
        page.keyboard.press("Control+z")
        page.keyboard.press("s")
        expect(page.locator("#mask-state")).to_have_text("마스크 저장됨")
        expect(first).to_have_class("label-ng current")
        url = first.get_attribute("data-mask")
        assert url and url.startswith("/datasets/items/")
        mask = np.asarray(Image.open(io.BytesIO(page.request.get(base + url).body())))
        assert mask.shape == (64, 64)  # the painting is at the image's own pixels
        assert mask[32, 10:25].all() and not mask[:, 45:].any() and not mask[:15].any()
        assert not mask[48:].any()  # the undone stroke

        # the eraser over the stroke's start, then the next image: moving on saves the change
        page.keyboard.press("e")
        page.mouse.move(*at(0.05, 0.5))
        page.mouse.down()
        page.mouse.move(*at(0.2, 0.5), steps=4)
        page.mouse.up()
        page.keyboard.press("ArrowRight")
        expect(page.locator("#viewer-pos")).to_have_text("2 / 4")
        expect(first).not_to_have_attribute("data-mask", url)
        url2 = first.get_attribute("data-mask")
        assert url2
        erased = np.asarray(Image.open(io.BytesIO(page.request.get(base + url2).body())))
        assert not erased[32, :10].any() and erased[32, 18:25].all()
        page.screenshot(path=str(tmp_path / "paint.png"), full_page=True)

        # after a reload the painting is back on the canvas, in the paint colour
        page.reload()
        expect(page.locator("#viewer-mask")).to_have_attribute("data-loaded", url2)
        alpha = page.evaluate(
            """() => { const c = document.getElementById('viewer-mask');
                 const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                 const at = (x, y) => d[(y * c.width + x) * 4 + 3];
                 return [at(22, 32), at(5, 32), at(55, 32)]; }"""
        )
        assert alpha == [255, 0, 0]
        expect(first.locator(".value")).to_have_text("NG")
        assert first.get_attribute("data-region") == "mask"  # the list says " · 마스크" after NG
        page.screenshot(path=str(tmp_path / "reloaded.png"), full_page=True)

        # zoomed in, the brush paints where the pointer is on the larger image
        page.keyboard.press("+")
        expect(page.locator("#zoom-level")).to_have_text("200%")
        big = page.locator("#viewer-mask").bounding_box()
        assert big is not None and big["width"] == pytest.approx(2 * box["width"], rel=0.02)
        page.keyboard.press("b")
        # (in the frame's view: the zoomed image scrolls inside it)
        page.mouse.move(big["x"] + big["width"] * 0.3, big["y"] + big["height"] * 0.1)
        page.mouse.down()
        page.mouse.move(big["x"] + big["width"] * 0.35, big["y"] + big["height"] * 0.1, steps=3)
        page.mouse.up()
        page.keyboard.press("s")
        expect(first).not_to_have_attribute("data-mask", url2)
        zoomed = np.asarray(
            Image.open(io.BytesIO(page.request.get(base + (first.get_attribute("data-mask") or "")).body()))
        )
        assert zoomed[6, 20:22].all() and zoomed[32, 18:25].all()  # the new dot, and the stroke kept
        page.keyboard.press("-")
        expect(page.locator("#zoom-level")).to_have_text("100%")
        assert page.locator("#viewer-mask").bounding_box()["width"] == pytest.approx(box["width"], rel=0.02)

        # the list's filter: the NG images still without a region (none: ng_000 has its mask)
        page.get_by_role("button", name="영역 없는 NG").click()
        expect(page.locator("#viewer-pos")).to_have_text("0 / 0")
        page.get_by_role("group", name="보기").get_by_role("button", name="NG", exact=True).click()
        expect(page.locator("#viewer-pos")).to_have_text("1 / 1")
        expect(page.locator(".label-list li:visible")).to_have_count(1)
        page.get_by_role("button", name="전체", exact=True).click()
        expect(page.locator("#viewer-pos")).to_have_text("1 / 4")
        # shown again: no painting until its stored mask is back on the canvas (a stroke made
        # before would be saved without it)
        expect(ready).to_have_attribute("data-ready", first.get_attribute("data-id") or "")

        # the lasso fills the outline drawn round a region; with Shift held it clears one
        def lasso(corners: list[tuple[float, float]]) -> None:
            page.mouse.move(*at(*corners[0]))
            page.mouse.down()
            for c in corners[1:] + corners[:1]:
                page.mouse.move(*at(*c), steps=4)
            page.mouse.up()

        page.keyboard.press("l")
        expect(page.get_by_role("button", name="올가미 l")).to_have_attribute("aria-pressed", "true")
        lasso([(0.55, 0.55), (0.9, 0.55), (0.9, 0.9), (0.55, 0.9)])
        page.keyboard.down("Shift")
        lasso([(0.65, 0.65), (0.8, 0.65), (0.8, 0.8), (0.65, 0.8)])
        page.keyboard.up("Shift")
        expect(ready).to_have_attribute("data-dirty", "1")  # the page took the lasso (says "not saved")
        page.keyboard.press("s")
        # the save's answer, given time: in one full run it was not confirmed within 5 s (cause not found)
        expect(page.locator("#mask-state")).to_have_text("마스크 저장됨", timeout=20_000)
        filled = np.asarray(
            Image.open(io.BytesIO(page.request.get(base + (first.get_attribute("data-mask") or "")).body()))
        )
        assert filled[37:40, 37:55].all() and filled[52:56, 37:55].all()  # the ring left filled
        assert not filled[44:49, 44:49].any() and not filled[60:, :].any()  # cleared inside; nothing outside
        assert filled[32, 18:25].all()  # the earlier stroke kept

        # a painting on the next image, not saved yet, is saved with the labels as a version
        page.keyboard.press("ArrowRight")
        expect(page.locator("#viewer-pos")).to_have_text("2 / 4")
        second = page.locator(".label-list li").nth(1)
        expect(ready).to_have_attribute("data-ready", second.get_attribute("data-id") or "")
        page.keyboard.press("b")
        page.mouse.move(*at(0.6, 0.2))
        page.mouse.down()
        page.mouse.move(*at(0.8, 0.2), steps=4)
        page.mouse.up()
        expect(page.locator("#mask-state")).to_have_text("마스크가 아직 저장되지 않음")
        page.get_by_role("button", name="라벨을 새 버전으로 저장").click()
        expect(page.get_by_role("heading", name="brackets v2")).to_be_visible()
        expect(page.locator("#head-hint")).to_contain_text("NG 이미지 2장 중 2장에 칠한 불량 마스크가")
