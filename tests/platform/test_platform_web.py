"""The platform's pages and API through HTTP: upload, validation report, labels, job, registry."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from aion.core.db import system_session
from aion.platform.models import BlobRef, DatasetVersion
from aion.solutions.inspection import InspectionModel
from aion.solutions.inspection.config import TrainConfig
from tests.foundation.factories import World
from tests.platform.helpers import bomb_zip, make_zip, png
from tests.platform.webtools import client_for, image_zip_bytes, upload_form, upload_resumable, wait_job


def test_member_uploads_labels_trains_compares_promotes_and_rolls_back(
    app: Any, world: World, engine: Engine, tmp_path: Path
) -> None:
    c = client_for(app, world, "a_member")
    token = c.cookies["aion_csrf"]
    r = c.post("/datasets", data={"csrf_token": token, "name": "브래킷", "kind": "inspection_images"})
    assert r.status_code == 200 and "브래킷" in r.text
    ds_id = int(re.search(r"/datasets/(\d+)", str(r.url)).group(1))  # type: ignore[union-attr]

    # a bad upload: the report names the files, and nothing is stored
    bad = c.post(
        f"/datasets/{ds_id}/upload",
        data={"csrf_token": token},
        files=[
            ("files", ("good.png", png(1), "image/png")),
            ("files", ("broken.png", png(2)[:100], "image/png")),
            ("files", ("bomb.zip", bomb_zip(tmp_path / "bomb.zip").read_bytes(), "application/zip")),
        ],
    )
    assert bad.status_code == 400
    assert "broken.png" in bad.text and "bomb.zip" in bad.text and "압축 폭탄" in bad.text, bad.text[
        bad.text.find("<main") :
    ][:1500]
    with system_session(engine) as s:
        assert s.scalar(select(func.count(DatasetVersion.id))) == 0
        assert s.scalar(select(func.count(BlobRef.id))) == 0

    # files from the form: all unlabelled
    files = [("files", (f"img{i}.png", png(i), "image/png")) for i in range(6)]
    r = c.post(f"/datasets/{ds_id}/upload", data={"csrf_token": token, "note": "first"}, files=files)
    assert r.status_code == 200 and "v1" in r.text
    v1 = c.get(f"/api/datasets/{ds_id}/versions").json()[0]
    assert v1["counts"]["unlabeled"] == 6
    page = c.get(f"/datasets/{ds_id}/versions/{v1['id']}")
    assert page.text.count("/file") >= 6
    # the training form starts at the engine's defaults: a model trained here is the CLI's
    defaults = TrainConfig()
    assert f'<option value="{defaults.resolution}" selected>' in page.text
    assert f'name="target_frr_pct" value="{defaults.target_frr * 100:g}"' in page.text
    assert 'name="model_name" value="브래킷 검사 모델"' in page.text
    manifest = c.get(f"/datasets/{ds_id}/versions/{v1['id']}/manifest.json")
    assert manifest.status_code == 200 and len(manifest.json()["items"]) == 6

    # a zip through the resumable API adds two NG images (labels from folder names)
    up = upload_resumable(c, ds_id, "more.zip", image_zip_bytes(tmp_path, 0, 2, seed=50))
    v2 = c.post(f"/api/datasets/{ds_id}/versions", json={"uploads": [up], "note": "ng"}).json()
    assert (v2["number"], v2["counts"]["ng"], v2["counts"]["unlabeled"]) == (2, 2, 6)
    assert c.get(f"/api/uploads/{up}").status_code == 404  # finished uploads are gone

    # label one more NG from the labeling page (form) and one OK by the API; save as v3
    label_page = c.get(f"/datasets/{ds_id}/label")
    assert label_page.status_code == 200 and "<kbd>o</kbd>" in label_page.text
    items = c.get(f"/api/datasets/{ds_id}/versions/{v2['id']}/items").json()
    unl = [it for it in items if it["label"] is None]
    c.post(f"/datasets/items/{unl[0]['id']}/label", data={"csrf_token": token, "value": "ng"})
    lab = c.post(f"/api/datasets/items/{unl[1]['id']}/label", json={"value": "ok"}).json()
    assert lab["author"] == world.emails["a_member"]
    r = c.post(f"/datasets/{ds_id}/labels/commit", data={"csrf_token": token, "note": "labels"})
    assert r.status_code == 200
    v3 = c.get(f"/api/datasets/{ds_id}/versions").json()[0]
    assert (v3["number"], v3["counts"]["ng"], v3["counts"]["ok"]) == (3, 3, 1)

    # train twice (two versions of the model), from the form and from the API
    r = c.post(
        f"/datasets/{ds_id}/versions/{v3['id']}/jobs",
        data={
            "csrf_token": token,
            "kind": "train_inspection",
            "model_name": "bracket",
            "resolution": "64",
            "target_frr_pct": "5",  # the form takes percent
            "threshold_basis": "frr",  # the target rate, though the version has NG images
        },
    )
    assert r.status_code == 200 and "/jobs/" in str(r.url)
    job1 = str(r.url).rsplit("/", 1)[1].split("?")[0]
    assert 'hx-get="/jobs/' in r.text  # the page polls while the job runs
    done1 = wait_job(c, job1)
    assert done1["state"] == "succeeded", done1
    job2 = c.post(
        "/api/jobs",
        json={
            "dataset_id": ds_id,
            "version_id": v2["id"],
            "options": {"model_name": "bracket", "resolution": 64, "target_frr": 0.05},
        },
    ).json()["id"]
    assert wait_job(c, job2)["state"] == "succeeded"
    panel = c.get(f"/jobs/{job1}/panel")
    assert "hx-get" not in panel.text and "trained" in panel.text  # final: no more polling; the log is shown
    # metrics by their Korean names, each key kept as the name's title
    assert '<span title="train_images">학습 이미지 수</span>' in panel.text
    assert '<span title="image_auroc">이미지 AUROC</span>' in panel.text
    # ... and values as a reader expects them: counts whole, shares in percent; the stage in Korean
    metrics = done1["metrics"]
    assert (
        f'<span title="train_images">학습 이미지 수</span> {round(metrics["train_images"])}</li>'
        in panel.text
    )
    frr = f"{metrics['calibration_frr'] * 100:.1f}%"
    assert f'<span title="calibration_frr">보정용 양품의 과검출률</span> {frr}</li>' in panel.text
    assert '<span id="job-message">완료</span>' in panel.text
    # scores with four decimals, and in a reader's order: quality first, counts after
    auroc = f'<span title="image_auroc">이미지 AUROC</span> {metrics["image_auroc"]:.4f}</li>'
    assert auroc in panel.text
    assert panel.text.index(auroc) < panel.text.index('<span title="train_images">')
    assert "<td>외관 검사</td>" in c.get("/models").text  # the model's kind, in the reader's language
    assert c.get("/api/jobs/" + job1 + "/logs").json()["lines"]

    model_id = done1["outcome"]["model_id"]
    detail = c.get(f"/api/models/{model_id}").json()
    assert [v["number"] for v in detail["versions"]] == [2, 1]
    v_first, v_second = detail["versions"][1], detail["versions"][0]
    assert v_first["dataset_version_id"] == v3["id"] and v_second["dataset_version_id"] == v2["id"]
    assert detail["aliases"] == {"candidate": v_second["id"]}
    cmp = c.get(f"/models/{model_id}/compare?v={v_first['id']}&v={v_second['id']}")
    assert cmp.status_code == 200 and "metrics.threshold" in cmp.text and "params.target_frr" in cmp.text

    # promote v1, then v2, then roll back to v1: one click each
    c.post(
        f"/models/{model_id}/versions/{v_first['id']}/promote",
        data={"csrf_token": token, "alias": "production"},
    )
    c.post(
        f"/models/{model_id}/versions/{v_second['id']}/promote",
        data={"csrf_token": token, "alias": "production"},
    )
    assert c.get(f"/api/models/{model_id}").json()["aliases"]["production"] == v_second["id"]
    r = c.post(f"/models/{model_id}/rollback", data={"csrf_token": token, "alias": "production"})
    assert r.status_code == 200
    assert c.get(f"/api/models/{model_id}").json()["aliases"]["production"] == v_first["id"]
    again = c.post(f"/api/models/{model_id}/rollback", json={"alias": "production"})
    assert again.status_code == 400 and again.json()["detail"]
    dl = c.get(f"/models/{model_id}/versions/{v_first['id']}/download")
    assert dl.status_code == 200 and len(dl.content) == v_first["size"]
    assert "bracket-v1" in dl.headers["content-disposition"]
    first = InspectionModel.load(_saved(tmp_path / "v1.aion", dl.content))
    assert (first.meta.threshold_method, first.meta.target_frr) == ("frr", 0.05)
    dl2 = c.get(f"/models/{model_id}/versions/{v_second['id']}/download")
    second = InspectionModel.load(_saved(tmp_path / "v2.aion", dl2.content))
    assert second.meta.threshold_method == "f1"  # NG images and no choice: the engine's default
    c.__exit__(None, None, None)


def _saved(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_unreadable_uploads_are_named_with_their_reason_and_never_the_servers_paths(
    app: Any, world: World, tmp_path: Path
) -> None:
    c = client_for(app, world, "a_member")
    ds = c.post("/api/datasets", json={"name": "불량 입력", "kind": "inspection_images"}).json()
    entries = {"ok/a.png": png(1), "ok/빈 파일.png": b"", "ok/글자.png": b"\x89PNG\r\n\x1a\n not a png"}
    data = make_zip(tmp_path / "set.zip", entries).read_bytes()
    refused = upload_form(c, ds["id"], ("set.zip", data), ("틀린.zip", b"no zip"))
    assert refused.status_code == 400
    text = refused.text
    assert "빈 파일(0바이트)" in text and "PNG, JPEG, BMP, TIFF 이미지가 아니거나 손상됨" in text
    assert "손상된 압축 파일(zip으로 읽을 수 없음): File is not a zip file" in text
    assert str(tmp_path) not in text and "/stage" not in text and "cannot identify" not in text
    assert c.get(f"/api/datasets/{ds['id']}/versions").json() == []  # nothing stored


def test_a_windows_zip_with_a_bad_file_is_refused_then_stored_without_it_when_asked(
    app: Any, world: World, tmp_path: Path
) -> None:
    c = client_for(app, world, "a_member")
    token = c.cookies["aion_csrf"]
    ds = c.post("/api/datasets", json={"name": "주조품", "kind": "inspection_images"}).json()
    entries = {
        "주조품/양품/a.png": png(1),
        "주조품/양품/b.png": png(2),
        "주조품/불량/c.png": png(3, defect=True),
    }
    entries["주조품/양품/잘린 사진.png"] = png(4)[:150]
    data = make_zip(tmp_path / "주조품.zip", entries, name_encoding="cp949").read_bytes()
    upload = [("files", ("주조품.zip", data, "application/zip"))]
    refused = c.post(f"/datasets/{ds['id']}/upload", data={"csrf_token": token}, files=upload)
    assert refused.status_code == 400
    assert "주조품/양품/잘린 사진.png" in refused.text and "손상된 이미지" in refused.text
    assert "corrupt image" not in refused.text  # the reader's language only
    assert "문제가 있는 파일 건너뛰기" in refused.text  # the message says how to go on
    stored = c.post(
        f"/datasets/{ds['id']}/upload", data={"csrf_token": token, "skip_problems": "1"}, files=upload
    )
    assert stored.status_code == 200
    v1 = c.get(f"/api/datasets/{ds['id']}/versions").json()[0]
    assert (v1["counts"]["ok"], v1["counts"]["ng"]) == (2, 1)  # labels from the Korean folders
    assert (
        "건너뛴 파일 (1)" in stored.text and "주조품/양품/잘린 사진.png</span>: 손상된 이미지" in stored.text
    )
    assert "NG 이미지 1장 중 0장에 칠한 불량 마스크가, 0장에 불량 상자가 있고" in stored.text
    # a box drawn on the NG image: the next version's training form counts it
    items = c.get(f"/api/datasets/{ds['id']}/versions/{v1['id']}/items").json()
    ng = next(it for it in items if it["label"] == "ng")
    box = {"value": "ng", "box": [0.2, 0.2, 0.6, 0.6]}
    assert c.post(f"/api/datasets/items/{ng['id']}/label", json=box).status_code == 200
    page = c.post(f"/datasets/{ds['id']}/labels/commit", data={"csrf_token": token, "note": "boxes"})
    assert (
        page.status_code == 200
        and "NG 이미지 1장 중 0장에 칠한 불량 마스크가, 1장에 불량 상자가" in page.text
    )
    # the resumable API takes the same choice
    up = upload_resumable(
        c,
        ds["id"],
        "more.zip",
        make_zip(tmp_path / "m.zip", {"ng/d.png": png(5, defect=True), "x.txt": b"x"}).read_bytes(),
    )
    assert c.post(f"/api/datasets/{ds['id']}/versions", json={"uploads": [up]}).status_code == 400
    up = upload_resumable(
        c,
        ds["id"],
        "more.zip",
        make_zip(tmp_path / "m.zip", {"ng/d.png": png(5, defect=True), "x.txt": b"x"}).read_bytes(),
    )
    v2 = c.post(f"/api/datasets/{ds['id']}/versions", json={"uploads": [up], "skip_problems": True})
    assert v2.status_code == 201 and v2.json()["counts"]["ng"] == 2
    c.__exit__(None, None, None)


def test_table_data_set_preview_shows_the_first_rows(app: Any, world: World) -> None:
    c = client_for(app, world, "a_member")
    token = c.cookies["aion_csrf"]
    ds = c.post("/api/datasets", json={"name": "press line 2", "kind": "sensor_series"}).json()
    csv = "time,pressure_bar,temp_c\n" + "".join(f"{i},{100 + i * 0.5},{40 + i % 3}\n" for i in range(100))
    r = c.post(
        f"/datasets/{ds['id']}/upload",
        data={"csrf_token": token},
        files=[("files", ("press.csv", csv.encode(), "text/csv"))],
    )
    assert r.status_code == 200
    assert "<th>pressure_bar</th>" in r.text and "<td>107.0</td>" in r.text  # row 14 of the 15 shown
    assert "<td>107.5</td>" not in r.text  # row 15: not shown
    # the training form, without the advice on good images (for inspection images only)
    assert "학습 시작" in r.text and 'id="few-good"' not in r.text
    wrong = c.post(
        f"/datasets/{ds['id']}/upload",
        data={"csrf_token": token},
        files=[("files", ("x.png", png(1), "image/png"))],
    )
    assert wrong.status_code == 400 and "x.png" in wrong.text
    c.__exit__(None, None, None)
