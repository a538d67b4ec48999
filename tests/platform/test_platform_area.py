"""The training form's inspection area: a crop and ignore boxes drawn (or typed) on a photo of
the version, carried by the training job into the model file, and offered again for the next
training of the same data set."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from aion.core.db import system_session
from aion.platform.models import DatasetItem, JobRecord
from aion.solutions.inspection import InspectionModel
from aion.solutions.inspection.align import PartAligner
from aion.solutions.inspection.area import Box
from aion.solutions.inspection.images import decode_image
from tests.foundation.factories import World
from tests.platform.helpers import png
from tests.platform.webtools import client_for, image_zip_bytes, upload_resumable, wait_job


def _inspection_set(c: Any, tmp_path: Path, name: str = "하우징", n_ok: int = 8) -> tuple[int, int]:
    token = c.cookies["aion_csrf"]
    r = c.post("/datasets", data={"csrf_token": token, "name": name, "kind": "inspection_images"})
    ds_id = int(re.search(r"/datasets/(\d+)", str(r.url)).group(1))  # type: ignore[union-attr]
    up = upload_resumable(c, ds_id, "set.zip", image_zip_bytes(tmp_path, n_ok, 0, seed=70))
    version = c.post(f"/api/datasets/{ds_id}/versions", json={"uploads": [up], "note": "ok"}).json()
    return ds_id, version["id"]


def test_the_area_goes_from_the_form_into_the_model(
    app: Any, world: World, engine: Engine, tmp_path: Path
) -> None:
    c = client_for(app, world, "a_member")
    token = c.cookies["aion_csrf"]
    ds_id, v_id = _inspection_set(c, tmp_path)
    page = c.get(f"/datasets/{ds_id}/versions/{v_id}").text
    assert 'id="area"' in page and 'id="area-photo"' in page and "/preview?size=1280" in page
    assert 'name="crop" value=""' in page and 'id="area-source"' not in page

    form = {
        "csrf_token": token,
        "kind": "train_inspection",
        "model_name": "housing",
        "resolution": "64",
        "area_tool": "ignore",
    }
    # a box the wrong way round: the reader's language names the value; no job is queued
    with system_session(engine) as s:
        jobs_before = s.scalar(select(func.count(JobRecord.id)))
    bad = c.post(f"/datasets/{ds_id}/versions/{v_id}/jobs", data={**form, "crop": "0.9,0,0.1,1"})
    assert bad.status_code == 400 and "검사 영역" in bad.text and "0.9,0,0.1,1" in bad.text
    pixels = c.post(f"/datasets/{ds_id}/versions/{v_id}/jobs", data={**form, "ignore": "10,10,50,50"})
    assert pixels.status_code == 400 and "10,10,50,50" in pixels.text
    everything = c.post(  # two ignore boxes that cover the whole crop between them
        f"/datasets/{ds_id}/versions/{v_id}/jobs",
        data={**form, "crop": "0.5,0,1,1", "ignore": "0.5,0,0.8,1; 0.7,0,1,1"},
    )
    assert everything.status_code == 400 and "검사할 곳을 남겨야" in everything.text
    with system_session(engine) as s:
        assert s.scalar(select(func.count(JobRecord.id))) == jobs_before

    r = c.post(
        f"/datasets/{ds_id}/versions/{v_id}/jobs",
        data={**form, "crop": "0.05,0,1,0.95", "ignore": "60%,5%,95%,30%"},
    )
    assert r.status_code == 200 and "/jobs/" in str(r.url)
    done = wait_job(c, str(r.url).rsplit("/", 1)[1].split("?")[0])
    assert done["state"] == "succeeded", done
    model_id, mv_id = done["outcome"]["model_id"], done["outcome"]["model_version_id"]
    dl = c.get(f"/models/{model_id}/versions/{mv_id}/download")
    path = tmp_path / "m.aion"
    path.write_bytes(dl.content)
    with InspectionModel.load(path) as model:
        assert model.area.crop is not None and model.area.crop.to_list() == [0.05, 0.0, 1.0, 0.95]
        assert [b.to_list() for b in model.area.ignore] == [[0.6, 0.05, 0.95, 0.3]]
        assert model.meta.version == 9

    # the next training of this data set starts from the same area
    page = c.get(f"/datasets/{ds_id}/versions/{v_id}").text
    assert 'name="crop" value="0.05,0,1,0.95"' in page and 'name="ignore" value="0.6,0.05,0.95,0.3"' in page
    assert "housing v1" in page[page.index('id="area-source"') :][:300]
    # ... in English too
    c.cookies.set("aion_lang", "en")
    bad = c.post(f"/datasets/{ds_id}/versions/{v_id}/jobs", data={**form, "crop": "0.9,0,0.1,1"})
    assert bad.status_code == 400 and "Bad inspection area (crop): 0.9,0,0.1,1" in bad.text
    # another company's member sees neither the data set nor its area
    other = client_for(app, world, "b_member")
    assert other.get(f"/datasets/{ds_id}/versions/{v_id}").status_code == 404


def _item_ids(engine: Engine, version_id: int) -> dict[str, int]:
    with system_session(engine) as s:
        return dict(
            s.execute(
                select(DatasetItem.path, DatasetItem.id).where(DatasetItem.version_id == version_id)
            ).all()
        )


def _jobs(engine: Engine) -> int:
    with system_session(engine) as s:
        return int(s.scalar(select(func.count(JobRecord.id))) or 0)


def _trained(c: Any, url: str, data: dict[str, str], tmp_path: Path) -> tuple[int, Path]:
    """Start a training job from the form, wait for it, and download its model file."""
    r = c.post(url, data=data)
    assert r.status_code == 200 and "/jobs/" in str(r.url)
    done = wait_job(c, str(r.url).rsplit("/", 1)[1].split("?")[0])
    assert done["state"] == "succeeded", done
    model_id, mv_id = done["outcome"]["model_id"], done["outcome"]["model_version_id"]
    path = tmp_path / "m.aion"
    path.write_bytes(c.get(f"/models/{model_id}/versions/{mv_id}/download").content)
    return int(model_id), path


def _checkbox(page: str) -> str:
    return re.search(r'<input type="checkbox" id="area-align"[^>]*>', page).group(0)  # type: ignore[union-attr]


def test_an_area_that_follows_the_part(app: Any, world: World, engine: Engine, tmp_path: Path) -> None:
    c = client_for(app, world, "a_member")
    token = c.cookies["aion_csrf"]
    ds_id, v_id = _inspection_set(c, tmp_path, "브래킷")
    ids = _item_ids(engine, v_id)
    page = c.get(f"/datasets/{ds_id}/versions/{v_id}").text
    assert 'name="align"' in _checkbox(page) and "checked" not in _checkbox(page)
    assert "부품 위치를 따라 영역 이동" in page and 'id="area-align-help"' in page
    # the form says which photo the boxes are drawn on: the one it shows
    assert f'name="area_reference" value="{ids["ok/0.png"]}"' in page

    form = {"csrf_token": token, "kind": "train_inspection", "model_name": "bracket", "resolution": "64"}
    url = f"/datasets/{ds_id}/versions/{v_id}/jobs"
    before = _jobs(engine)
    # following the part without a box round it: the reader's language says what is missing
    bad = c.post(url, data={**form, "align": "on", "ignore": "0.1,0.1,0.2,0.2"})
    assert bad.status_code == 400 and "검사 영역이 필요합니다" in bad.text and "align: on" in bad.text
    # another company's photo as the reference: refused, as an id of nothing here
    other = client_for(app, world, "b_member")
    _, b_version = _inspection_set(other, tmp_path, "남의 것", n_ok=2)
    foreign = _item_ids(engine, b_version)["ok/0.png"]
    area = {"crop": "0.2,0.2,0.8,0.8", "align": "on"}
    bad = c.post(url, data={**form, **area, "area_reference": str(foreign)})
    assert bad.status_code == 400 and f"기준 사진 {foreign}" in bad.text
    assert c.post(url, data={**form, **area, "area_reference": "ok/1.png"}).status_code == 400
    assert _jobs(engine) == before

    # the boxes drawn on another photo than the first: the model learns the part from that photo
    model_id, path = _trained(c, url, {**form, **area, "area_reference": str(ids["ok/5.png"])}, tmp_path)
    crop = Box(0.2, 0.2, 0.8, 0.8)
    with InspectionModel.load(path) as model:
        assert model.meta.area["align"] is True and model.meta.version == 10
        assert model.aligner_ is not None and model.aligner_.frame_ is not None
        frame = model.aligner_.frame_
    expected = PartAligner(crop).fit(decode_image(png(75), "5.png")).frame_  # ok/5.png of the set
    first = PartAligner(crop).fit(decode_image(png(70), "0.png")).frame_
    assert expected is not None and first is not None
    assert (frame == expected).all() and not (frame == first).all()

    # the next training starts from the same area, following the part, on the same photo
    page = c.get(f"/datasets/{ds_id}/versions/{v_id}").text
    assert "checked" in _checkbox(page) and 'name="crop" value="0.2,0.2,0.8,0.8"' in page
    assert f'name="area_reference" value="{ids["ok/5.png"]}"' in page and 'alt="ok/5.png"' in page
    # the model's page of versions side by side reads the area in words, not as a dictionary
    compare = c.get(f"/models/{model_id}/compare").text
    assert "검사 영역 0.2,0.2,0.8,0.8 · 부품 위치를 따라감" in compare and "&#39;align&#39;" not in compare
    # ... in English too
    c.cookies.set("aion_lang", "en")
    page = c.get(f"/datasets/{ds_id}/versions/{v_id}").text
    assert "Move the area with the part (the part may sit elsewhere in each photo)" in page
    assert "crop 0.2,0.2,0.8,0.8 · follows the part" in c.get(f"/models/{model_id}/compare").text
    bad = c.post(url, data={**form, "align": "on"})
    assert (
        bad.status_code == 400
        and "Moving the area with the part (align: on) needs an inspected area" in bad.text
    )
    assert _jobs(engine) == before + 1


def _belt_set(
    c: Any, tmp_path: Path, turn: float = 0.0, angles: dict[str, float] | None = None
) -> tuple[int, int, dict[str, tuple[int, int]]]:
    """A data set of plates lying anywhere on a belt (``ok/00.png`` at the reference's place);
    with ``turn``, the others also turned up to that many degrees (written into ``angles``)."""
    import io

    import numpy as np
    from PIL import Image

    from tests.platform.helpers import make_zip
    from tests.solutions.inspection.belt import REF_AT, anywhere, on_belt, plate, turned

    rng = np.random.default_rng(5)
    where, entries = {}, {}
    for i in range(6):
        at = REF_AT if i == 0 else anywhere(rng, 14 if turn else 4)
        angle = float(rng.uniform(-turn, turn)) if turn and i else 0.0
        buf = io.BytesIO()
        Image.fromarray(turned(on_belt(plate(rng, "L1")[0], at, rng), at, angle)).save(buf, "PNG")
        entries[f"ok/{i:02d}.png"] = buf.getvalue()
        where[f"ok/{i:02d}.png"] = at
        if angles is not None:
            angles[f"ok/{i:02d}.png"] = angle
    token = c.cookies["aion_csrf"]
    r = c.post("/datasets", data={"csrf_token": token, "name": "벨트", "kind": "inspection_images"})
    ds_id = int(re.search(r"/datasets/(\d+)", str(r.url)).group(1))  # type: ignore[union-attr]
    up = upload_resumable(c, ds_id, "belt.zip", make_zip(tmp_path / "belt.zip", entries).read_bytes())
    version = c.post(f"/api/datasets/{ds_id}/versions", json={"uploads": [up]}).json()
    return ds_id, version["id"], where


def test_the_part_is_found_in_the_version_s_photos_before_training(
    app: Any, world: World, tmp_path: Path
) -> None:
    from tests.solutions.inspection.belt import CROP, PHOTO, PLATE

    c = client_for(app, world, "a_member")
    ds_id, v_id, where = _belt_set(c, tmp_path)
    ids = {it["path"]: it["id"] for it in c.get(f"/api/datasets/{ds_id}/versions/{v_id}/items").json()}
    page = c.get(f"/datasets/{ds_id}/versions/{v_id}").text
    assert 'id="area-preview-btn"' in page and "부품을 어디서 찾는지 미리보기" in page
    url = f"/api/datasets/{ds_id}/versions/{v_id}/area-preview"
    r = c.get(url, params={"crop": CROP.text(), "reference": ids["ok/00.png"]})
    assert r.status_code == 200, r.text
    photos = r.json()["photos"]
    assert [p["path"] for p in photos] == sorted(where)  # the reference first, then the others
    for p in photos:  # each crop where that photo's plate lies (within 2 pixels)
        x, y = where[p["path"]]
        want = [(x - 4) / PHOTO, (y - 4) / PHOTO, (x + PLATE + 4) / PHOTO, (y + PLATE + 4) / PHOTO]
        assert p["box"] == pytest.approx(want, abs=2 / PHOTO), p
        assert p["match"] > 0.8 and p["weak"] is False
    # a bad box, or a reference that is not a photo of this version, is refused in the reader's language
    bad = c.get(url, params={"crop": "0.9,0,0.1,1", "reference": ids["ok/00.png"]})
    assert (
        bad.status_code == 400
        and "0.9,0,0.1,1" in bad.json()["detail"]
        and "검사 영역" in bad.json()["detail"]
    )
    whole = c.get(url, params={"crop": "0,0,1,1", "reference": ids["ok/00.png"]})
    assert whole.status_code == 400
    bare = c.get(url)  # nothing drawn yet: a message, not a validation dump
    assert bare.status_code == 400 and "검사 영역" in bare.json()["detail"]
    r = c.get(url, params={"crop": CROP.text(), "reference": "first"})
    assert r.status_code == 400 and "기준 사진 first" in r.json()["detail"]
    c_b = client_for(app, world, "b_member")
    (tmp_path / "b").mkdir()
    b_ds, b_v, _ = _belt_set(c_b, tmp_path / "b")
    foreign = c_b.get(f"/api/datasets/{b_ds}/versions/{b_v}/items").json()[0]["id"]
    r = c.get(url, params={"crop": CROP.text(), "reference": foreign})
    assert r.status_code == 400 and f"기준 사진 {foreign}" in r.json()["detail"]
    # and another company's member cannot ask about this version at all
    assert c_b.get(url, params={"crop": CROP.text(), "reference": ids["ok/00.png"]}).status_code == 404


def test_a_part_that_also_turns(app: Any, world: World, engine: Engine, tmp_path: Path) -> None:
    from tests.solutions.inspection.belt import CROP, PHOTO, PLATE

    c = client_for(app, world, "a_member")
    angles: dict[str, float] = {}
    ds_id, v_id, where = _belt_set(c, tmp_path, turn=12.0, angles=angles)
    ids = {it["path"]: it["id"] for it in c.get(f"/api/datasets/{ds_id}/versions/{v_id}/items").json()}
    page = c.get(f"/datasets/{ds_id}/versions/{v_id}").text
    assert 'id="area-turn" name="turn"' in page and "부품이 돌아갈 수 있는 최대 각도" in page
    # the preview turns the box with each plate
    url = f"/api/datasets/{ds_id}/versions/{v_id}/area-preview"
    r = c.get(url, params={"crop": CROP.text(), "reference": ids["ok/00.png"], "turn": "15"})
    assert r.status_code == 200, r.text
    for p in r.json()["photos"]:
        x, y = where[p["path"]]
        assert p["angle"] == pytest.approx(angles[p["path"]], abs=1.0), p
        want = [(x - 4) / PHOTO, (y - 4) / PHOTO, (x + PLATE + 4) / PHOTO, (y + PLATE + 4) / PHOTO]
        assert p["box"] == pytest.approx(want, abs=2 / PHOTO), p
    r = c.get(url, params={"crop": CROP.text(), "reference": ids["ok/00.png"], "turn": "90"})
    assert r.status_code == 400 and "90" in r.json()["detail"] and "0~45" in r.json()["detail"]

    token = c.cookies["aion_csrf"]
    form = {"csrf_token": token, "kind": "train_inspection", "model_name": "plate", "resolution": "64"}
    jobs_url = f"/datasets/{ds_id}/versions/{v_id}/jobs"
    area = {"crop": CROP.text(), "area_reference": str(ids["ok/00.png"])}
    before = _jobs(engine)
    bad = c.post(jobs_url, data={**form, **area, "turn": "15"})  # turning, but not following
    assert bad.status_code == 400 and "영역이 부품 위치를 따라갈 때만" in bad.text and "turn: 15" in bad.text
    bad = c.post(jobs_url, data={**form, **area, "align": "on", "turn": "abc"})
    assert bad.status_code == 400 and "잘못된 회전 각도" in bad.text and "abc" in bad.text
    assert _jobs(engine) == before

    model_id, path = _trained(c, jobs_url, {**form, **area, "align": "on", "turn": "15"}, tmp_path)
    with InspectionModel.load(path) as model:
        assert model.meta.area["turn"] == 15.0 and model.meta.version == 11
    # the next form keeps the turn; the comparison page says it in words
    page = c.get(f"/datasets/{ds_id}/versions/{v_id}").text
    assert re.search(r'id="area-turn" name="turn"[^>]*value="15"', page)
    assert "부품 위치를 따라감 · 최대 15도 회전" in c.get(f"/models/{model_id}/compare").text
    c.cookies.set("aion_lang", "en")
    assert "follows the part · turns up to 15 degrees" in c.get(f"/models/{model_id}/compare").text
