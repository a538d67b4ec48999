"""The inspection station's photos in the web app: each camera's scored photos and heat maps, a
person's OK/NG verdict on them, and the labelled photos added to an inspection data set (real
model file, real camera folder, the pipeline as ``aion line run`` builds it, real database and
blob store; SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from aion.core.audit import AuditLog
from aion.core.db import system_session
from aion.line import compare as comparing
from aion.line import photos
from aion.line import service as lines
from aion.line.config import load_line, parse_line
from aion.line.model import Reading, Scored
from aion.line.models import Line, PhotoLabel
from aion.line.runtime import build_pipeline
from aion.line.stationspeed import SPEED_FILE
from aion.line.store.sqlite import SqliteStore
from aion.platform import datasets
from aion.platform import modelregistry as reg
from aion.platform.models import DatasetItem
from aion.platform.runtime import PlatformStorage
from aion.settings import Settings
from aion.solutions.inspection.speed import cpu_name
from aion.web.app import create_app
from tests.browser import BROWSER, chromium_page, log_in
from tests.foundation.factories import World, make_world
from tests.platform.webtools import client_for
from tests.solutions.inspection.conftest import add_defect, save, texture


def station_line(
    engine: Engine, company_id: int, data: Path, camera: Path, model_file: Path
) -> tuple[int, str, Path]:
    """A line whose camera source names the model, saved as the web app saves it; returns its
    id, key and runtime ``line.yaml``."""
    camera.mkdir()
    doc = {
        "line": "press",
        "sources": [{"name": "cam", "kind": "camera", "folder": str(camera), "camera": "station",
                     "settle_s": 0.0, "scan_interval": 0.0, "model": str(model_file)}],
        "machines": [{"name": "station", "tags": [{"name": "image", "source": "cam", "high": 0.5}]}],
    }  # fmt: skip
    with system_session(engine, actor="tests") as s:
        line = lines.apply_config(s, company_id, parse_line(doc))
        return line.id, line.key, lines.write_runtime(data, line)


def inspect_photos(
    runtime_yaml: Path, data: Path, camera: Path, shots: dict[str, np.ndarray], t0: float
) -> Any:
    """Each photo written with its own time, then the pipeline as ``aion line run`` runs it;
    returns the (closed) station."""
    for i, (name, img) in enumerate(shots.items()):
        save(img, camera / name)
        os.utime(camera / name, (t0 + i, t0 + i))
    pipe = build_pipeline(load_line(runtime_yaml), data / "line")
    try:
        for _ in range(3):  # first sight records each file's size, the next takes it
            pipe.step()
        return pipe.image_scorer
    finally:
        pipe.close()


def register_candidates(engine: Engine, world: World, data: Path, model_file: Path, tmp_path: Path) -> dict[str, int]:  # fmt: skip
    """Inspection model versions in the registry: company A's ``bracket`` v1 (the station's own
    model) and v2 (the same, with a threshold nothing reaches), and company B's."""
    from aion.solutions.inspection import InspectionModel

    lenient = tmp_path / "lenient.aion"
    with InspectionModel.load(model_file) as m:
        m.with_threshold(1e6).save(lenient)
    store = PlatformStorage.at(data, storage_url="").store
    out = {}
    with system_session(engine, actor="tests") as s:
        for name, company, file, model in [
            ("same", world.company_a, model_file, "bracket"),
            ("lenient", world.company_a, lenient, "bracket"),
            ("theirs", world.company_b, model_file, "theirs"),
        ]:
            row = reg.get_or_create_model(s, company, model, "inspection")
            version = reg.register_version(
                s, store, row, file, dataset_version_id=None, job_id=None, params={}, metrics={}
            )
            if name == "same":
                reg.promote(s, row, version.id)  # the station's model is the production version
            out[name] = version.id
    return out


def test_station_photos_are_shown_labelled_and_added_to_a_data_set(
    engine: Engine, db_url: str, tmp_path: Path, model_file: Path
) -> None:
    world: World = make_world(engine)
    data, camera = tmp_path / "data", tmp_path / "camera"
    line_id, key, runtime_yaml = station_line(engine, world.company_a, data, camera, model_file)
    with system_session(engine, actor="tests") as s:
        ds_id = datasets.create_dataset(s, world.company_a, "bracket photos", "inspection_images").id
        sensors_id = datasets.create_dataset(s, world.company_a, "pump logs", "sensor_series").id
    rng = np.random.default_rng(11)
    t0 = time.time() - 100
    shots = {
        "good_1.png": texture(rng),
        "good_2.png": texture(rng),
        "scratch.png": add_defect(texture(rng), rng, "scratch")[0],
    }
    (camera / "torn.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)  # a truncated write
    os.utime(camera / "torn.png", (t0 + 3, t0 + 3))
    station = inspect_photos(runtime_yaml, data, camera, shots, t0)
    heatmaps = data / "line" / key / "heatmaps" / "cam"  # the default heat-map folder
    assert sorted(p.name for p in heatmaps.iterdir()) == ["scratch_heatmap.png", "scratch_mask.png"]
    # a reading whose path lies outside the camera's folder is never served
    save(texture(rng), tmp_path / "secret.png")
    os.utime(tmp_path / "secret.png", (t0 + 4, t0 + 4))
    store = SqliteStore(data / "line" / key / "timeseries.sqlite")
    store.write([Scored(Reading("station.image", t0 + 4, 0.9, 7, "cam", str(tmp_path / "secret.png")), 0)])
    store.close()

    app = create_app(Settings(env="test", data_dir=data, database_url=db_url, secret_key="s" * 48), engine)
    member = client_for(app, world, "a_member")
    base = f"/lines/{line_id}/photos"

    page = member.get(base)
    assert page.status_code == 200
    for name in ["good_1.png", "good_2.png", "scratch.png", "torn.png"]:
        assert name in page.text
    keys = {name: f"{round((t0 + i) * 1e6)}-{zlib_seq(name)}" for i, name in enumerate([*shots, "torn.png"])}
    ng_page = member.get(base, params={"camera": "station.image", "ng": 1}).text
    assert "scratch.png" in ng_page and "torn.png" in ng_page and "good_1.png" not in ng_page

    def file(name: str, kind: str = "photo", who=member) -> object:  # type: ignore[no-untyped-def]
        return who.get(f"{base}/file", params={"camera": "station.image", "key": keys[name], "kind": kind})

    r = file("scratch.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    assert file("scratch.png", "heatmap").status_code == 200
    assert file("good_1.png", "heatmap").status_code == 404  # a passed part has no heat map
    assert file("torn.png").status_code == 404  # unreadable: counted NG, nothing to show
    outside = member.get(
        f"{base}/file", params={"camera": "station.image", "key": f"{round((t0 + 4) * 1e6)}-7"}
    )
    assert outside.status_code == 404
    assert (
        member.get(f"{base}/file", params={"camera": "station.image", "key": "../../etc"}).status_code == 404
    )

    # another company sees neither the page nor a photo
    other = client_for(app, world, "b_member")
    assert other.get(base).status_code == 404
    assert file("scratch.png", who=other).status_code == 404

    def label(name: str, value: str, who=member) -> object:  # type: ignore[no-untyped-def]
        form = {
            "csrf_token": who.cookies["aion_csrf"],
            "camera": "station.image",
            "key": keys[name],
            "label": value,
        }
        return who.post(f"{base}/label", data=form, follow_redirects=False)

    assert label("scratch.png", "ok").status_code == 303  # a false reject
    assert label("good_2.png", "ok").status_code == 303
    assert label("good_2.png", "ng").status_code == 303  # changed its mind: an escape
    bad = label("good_1.png", "maybe")
    assert bad.status_code == 400 and "알 수 없는 판정" in bad.text
    assert label("scratch.png", "ng", who=other).status_code == 404
    page = member.get(base).text
    assert page.count("양품으로 표시됨") == 1 and page.count("불량으로 표시됨") == 1
    assert "데이터셋에 아직 넣지 않은 판정 사진: 2" in page
    # the last day on the line: 5 photos (the one outside the folder included), 3 called NG; one
    # false reject (the scratch marked OK) and one escape (good_2 marked NG)
    assert "사진 <strong>5</strong>" in page and "불량 판정 <strong>3</strong> (60.0%)" in page
    assert "과검출(불량 판정을 양품으로 표시) <strong>1</strong>" in page
    assert "미검출(양품 판정을 불량으로 표시) <strong>1</strong>" in page
    assert "불량 확인 <strong>0</strong>" in page
    # the station timed its model on this PC: the page says how fast, and whether the camera outpaces it
    speed_file = data / "line" / key / SPEED_FILE
    measured = json.loads(speed_file.read_text(encoding="utf-8"))["cameras"]["station"]
    assert measured["model"] == model_file.name and measured["photos"] >= 4
    assert f"라인 PC({platform.node()})에서의 검사 속도" in page and f"모델 {model_file.name}" in page
    assert "지난 한 시간 동안 카메라가 찍은 사진은 5장입니다" in page and 'id="too-slow"' not in page
    speed_file.write_text(
        json.dumps({"cameras": {"station": {**measured, "ms_p95": 3_600_000.0}}}), encoding="utf-8"
    )  # one photo an hour at most, five taken: the camera outpaces this PC
    assert 'id="too-slow"' in member.get(base).text

    # the same through the JSON API: pages newest first, NG only, a verdict
    api = f"/api/lines/{line_id}/photos"
    first = member.get(api, params={"camera": "station.image", "limit": 2}).json()
    assert [p["name"] for p in first["photos"]] == ["secret.png", "torn.png"] and first["next"]
    rest = member.get(api, params={"camera": "station.image", "before": first["next"]}).json()
    assert [p["name"] for p in rest["photos"]] == ["scratch.png", "good_2.png", "good_1.png"]
    assert rest["next"] is None and rest["summary"]["false_rejects"] == 1 and rest["summary"]["photos"] == 5
    assert rest["summary"]["last_hour"] == 5 and rest["speed"]["per_hour"] == 1.0
    assert rest["speed"]["model"] == model_file.name and rest["speed"]["host"] == platform.node()
    assert rest["speed"]["cpu"] == cpu_name()
    marked = {p["name"]: (p["ng"], p["label"]) for p in rest["photos"]}
    assert marked == {"scratch.png": (True, "ok"), "good_2.png": (False, "ng"), "good_1.png": (False, None)}
    ng_only = member.get(api, params={"camera": "station.image", "ng": "true"}).json()["photos"]
    assert [p["name"] for p in ng_only] == ["secret.png", "torn.png", "scratch.png"]
    verdict = {"camera": "station.image", "key": keys["torn.png"], "label": "ng"}
    r = member.post(f"{api}/label", json=verdict)
    assert r.status_code == 200 and r.json() == {
        "key": keys["torn.png"],
        "label": "ng",
        "by": world.emails["a_member"],
    }
    assert member.post(f"{api}/label", json={**verdict, "label": "maybe"}).status_code == 400
    assert member.post(f"{api}/label", json={**verdict, "key": "x"}).status_code == 404
    r = member.post(f"{api}/label", json={"camera": "station.image"})  # no key, no label: which fields
    assert r.status_code == 422 and {e["loc"][-1] for e in r.json()["detail"]} == {"key", "label"}
    assert other.post(f"{api}/label", json=["no", "fields"]).status_code == 404  # ownership first
    assert other.get(api, params={"camera": "station.image"}).status_code == 404
    assert other.post(f"{api}/label", json=verdict).status_code == 404
    assert member.get(api, params={"camera": "nope.image"}).status_code == 404

    # would another model have judged these photos better? People's verdicts are the truth: the
    # station called the scratch NG (people: OK) and good_2 OK (people: NG); the torn photo cannot
    # be scored. The same model agrees with the station; one that passes everything fixes the scratch.
    versions = register_candidates(engine, world, data, model_file, tmp_path)
    with system_session(engine) as s:
        line = s.get(Line, line_id)
        assert line is not None
        cam = photos.camera_of(line, data / "line" / key, "station.image")
        blobs = PlatformStorage.at(data, storage_url="").store
        same = comparing.compare(s, blobs, line, cam, versions["same"])
        lenient = comparing.compare(s, blobs, line, cam, versions["lenient"])
    assert (same.station, same.candidate, same.changed, same.missing) == (
        comparing.Errors(2, 1, 1),
        comparing.Errors(2, 1, 1),
        [],
        1,
    )
    assert lenient.model == "bracket v2" and lenient.candidate == comparing.Errors(2, 0, 1)
    assert [(c.name, c.label) for c in lenient.changed] == [("scratch.png", "ok")]
    shown = member.get(base, params={"camera": "station.image", "compare": versions["lenient"]}).text
    assert "사람이 판정한 사진 3장으로 모델 비교" in shown and 'id="comparison"' in shown
    assert (
        "bracket v2이(가) 스테이션과 다르게 판정한 사진: 1" in shown and f"key={keys['scratch.png']}" in shown
    )
    assert "비교하지 못한 사진(디스크에 없거나, 바뀌었거나, 읽을 수 없음): 1" in shown
    assert "<td>1 (50.0%)</td>" in shown  # each model right on one of the two
    assert ">bracket v1 (운영)</option>" in shown and "selected>bracket v2</option>" in shown
    assert f'<a href="/models/{lenient.model_id}" id="compare-model">' in shown  # to promote and deploy it
    theirs = {"camera": "station.image", "compare": versions["theirs"]}
    assert member.get(base, params=theirs).status_code == 404  # another company's model
    r = member.get(f"{api}/compare", params={"camera": "station.image", "version": versions["lenient"]})
    assert r.status_code == 200 and r.json()["candidate"] == {
        "judged": 2, "right": 1, "false_rejects": 0, "escapes": 1
    }  # fmt: skip
    assert [c["name"] for c in r.json()["changed"]] == ["scratch.png"] and r.json()["missing"] == 1
    assert r.json()["model"] == "bracket v2" and r.json()["model_id"] == lenient.model_id
    assert member.get(f"{api}/compare", params={"version": versions["theirs"]}).status_code == 404
    assert member.get(f"{api}/compare").status_code == 404  # no version named: none found
    assert other.get(f"{api}/compare", params={"version": versions["lenient"]}).status_code == 404

    # a sensor data set cannot take photos; the inspection set gets a new version with both
    send = {"csrf_token": member.cookies["aion_csrf"], "dataset_id": sensors_id}
    r = member.post(f"{base}/dataset", data=send, follow_redirects=False)
    assert r.status_code == 400 and "검사 이미지 데이터셋이 아닙니다" in r.text
    send["dataset_id"] = ds_id
    r = member.post(f"{base}/dataset", data=send, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/datasets/{ds_id}/versions/")
    with system_session(engine) as s:
        version = datasets.latest_version(s, ds_id)
        assert version is not None
        items = {
            it.path: it.label
            for it in s.scalars(select(DatasetItem).where(DatasetItem.version_id == version.id))
        }
        assert items == {"ok/press-station-scratch.png": "ok", "ng/press-station-good_2.png": "ng"}
        assert [p["path"] for p in version.report["skipped"]] == ["ng/press-station-torn.png"]  # unreadable
        labels = list(s.scalars(select(PhotoLabel).where(PhotoLabel.line_id == line_id)))
        assert {(lab.label, lab.author, lab.dataset_version_id) for lab in labels} == {
            ("ok", world.emails["a_member"], version.id),
            ("ng", world.emails["a_member"], version.id),
        }
        audited = s.scalars(select(AuditLog).where(AuditLog.entity == "PhotoLabel")).all()
        assert len(audited) >= 3 and {a.actor for a in audited} == {world.emails["a_member"]}
    r = member.post(f"{base}/dataset", data=send, follow_redirects=False)
    assert r.status_code == 400 and "데이터셋에 추가할 판정된 사진이 없습니다" in r.text  # nothing new

    # a photo the camera overwrote since it was scored is neither served nor added
    save(texture(rng), camera / "good_1.png")
    assert file("good_1.png").status_code == 404
    assert label("good_1.png", "ok").status_code == 303
    r = member.post(f"{base}/dataset", data=send, follow_redirects=False)
    assert r.status_code == 400 and "디스크에 더는 없거나 바뀐 사진 1장" in r.text

    # a camera that no model scores says so; a model deployed to its machine counts
    assert 'id="no-model"' not in member.get(base).text
    with system_session(engine, actor="tests") as s:
        line = s.get(Line, line_id)
        assert line is not None
        line.sources = [{k: v for k, v in src.items() if k != "model"} for src in line.sources]
    assert "이 카메라의 사진을 채점하는 검사 모델이 없습니다" in member.get(base).text
    deployed = data / "line" / key / "models" / "deployed.json"
    deployed.parent.mkdir(parents=True)
    deployed.write_text(json.dumps({"machines": {"station": {"kind": "inspection", "file": "m.aion"}}}))
    assert 'id="no-model"' not in member.get(base).text

    # heat maps the station wrote into the line's folder go with the store's retention
    assert station.apply_retention(time.time() - 3600) == 0
    assert station.apply_retention(time.time() + 1) == 2 and not any(heatmaps.iterdir())


def zlib_seq(name: str) -> int:
    import zlib

    return zlib.crc32(name.encode())


@BROWSER[0]
@BROWSER[1]
def test_from_an_ng_alarm_to_its_photo_and_a_verdict_in_a_browser(
    server: tuple[str, World], engine: Engine, tmp_path: Path, model_file: Path
) -> None:
    """On the live dashboard an NG part's alarm links to its photo and heat map; the shop floor
    marks it a good part there."""
    from playwright.sync_api import expect

    base, world = server
    data, camera = tmp_path / "data", tmp_path / "camera"  # the server fixture's data directory
    line_id, _key, runtime_yaml = station_line(engine, world.company_a, data, camera, model_file)
    rng = np.random.default_rng(2)
    shots = {"good.png": texture(rng), "spot.png": add_defect(texture(rng), rng, "spot")[0]}
    inspect_photos(runtime_yaml, data, camera, shots, time.time() - 50)
    versions = register_candidates(engine, world, data, model_file, tmp_path)
    with chromium_page("ko-KR") as page:
        log_in(page, base, world.emails["a_member"])
        page.goto(f"{base}/lines/{line_id}/live")
        page.locator("#alarms").get_by_role("link", name="사진 보기").click()
        shot = page.locator("li.shot")
        expect(shot).to_have_count(1)  # the NG photos up to the alarm: the spotted part
        expect(shot).to_contain_text("spot.png")
        expect(shot).to_contain_text("NG")
        expect(page.locator("#speed")).to_contain_text("한 시간에 약")  # timed on this PC
        for img in [
            shot.get_by_role("img", name="spot.png", exact=True),
            shot.get_by_role("img", name="히트맵 spot.png"),
        ]:
            expect(img).to_be_visible()
            assert img.evaluate("i => i.complete && i.naturalWidth > 0")  # served and decoded
        shot.get_by_role("button", name="양품 (OK)").click()
        expect(page.locator("li.shot")).to_contain_text("양품으로 표시됨")
        expect(page.get_by_role("heading", name="데이터셋에 아직 넣지 않은 판정 사진: 1")).to_be_visible()
        # would the lenient version have got it right? (it passes every part: it fixes the false reject)
        page.reload()
        page.locator("#compare-version").select_option(str(versions["lenient"]))
        page.get_by_role("button", name="비교", exact=True).click()
        expect(page.locator("#comparison")).to_contain_text("bracket v2")
        expect(page.locator("#changed li")).to_have_count(1)
        expect(page.locator("#changed")).to_contain_text("spot.png")
        page.screenshot(path=str(tmp_path / "photos.png"), full_page=True)
    # an admin tries that version on the running line beside the station: the next photo is scored by both
    with chromium_page("ko-KR") as page:
        log_in(page, base, world.emails["a_admin"])
        page.goto(f"{base}/lines/{line_id}/photos?camera=station.image&compare={versions['lenient']}")
        page.get_by_role("button", name="라인에서 검사 스테이션 옆에 시험 운영").click()
        expect(page.locator("#trial-notice")).to_contain_text("시험 운영 시작")
        expect(page.locator("#trial h2")).to_contain_text("bracket v2")
        expect(page.locator("#trial-waiting")).to_be_visible()
        inspect_photos(runtime_yaml, data, camera, {"dent.png": add_defect(texture(rng), rng, "spot")[0]}, time.time() - 5)  # fmt: skip
        page.reload()
        expect(page.locator("#trial-counts")).to_contain_text("채점한 사진 1")
        expect(page.locator("#trial-counts")).to_contain_text(
            "스테이션만 불량 판정 1"
        )  # v2 passes every part
        expect(page.locator("#trial-differ")).to_contain_text("dent.png")
        expect(page.locator("li.shot .trial-call.differs")).to_have_count(1)
        page.locator("#trial-end button").click()
        expect(page.locator("#trial-notice")).to_contain_text("시험 운영 종료")
        expect(page.locator("#trial")).to_have_count(0)
