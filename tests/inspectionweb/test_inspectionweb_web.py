"""Evaluation report, threshold saving and photo try-out of a trained inspection model (real app, DB, model)."""

from __future__ import annotations

import base64
import io
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import Engine, select

from aion.core.audit import AuditLog
from aion.core.db import system_session
from aion.platform.models import ModelVersion
from aion.platform.runtime import PlatformStorage
from aion.solutions.inspection import InspectionModel, evaluate
from tests.foundation.factories import World
from tests.inspectionweb.tools import N_NG, N_OK, register_model
from tests.platform.helpers import png
from tests.platform.webtools import client_for


def test_report_shows_metrics_worst_cases_and_saves_a_threshold(
    app: Any, world: World, engine: Engine, tmp_path: Path, model_file: Path
) -> None:
    reg = register_model(app, world, engine, tmp_path, model_file, "a_member", "브래킷")
    assert sorted(it["label"] for it in reg.items) == ["ng"] * N_NG + ["ok"] * N_OK
    c = client_for(app, world, "a_member")
    page = c.get(reg.base + "/report")
    assert page.status_code == 200, page.text
    assert "평가 보고서" in page.text and "미검출률(불량 통과)" in page.text
    # the page's AUROC is the engine's own evaluation of the same images
    train_dir = model_file.parent
    engine_auroc = evaluate(InspectionModel.load(model_file), train_dir).image_auroc
    shown = re.search(r'id="m-auroc">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]
    assert engine_auroc is not None and float(shown) == round(engine_auroc, 3)
    # good images: only the held-back ones (scored as new parts in training); the others are in the bank
    n_held = len(InspectionModel.load(model_file).meta.calibration["good_fingerprints"])
    assert 0 < n_held < N_OK
    scores = re.search(r'id="scores-data">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]
    assert scores.count('"y": 1') == N_NG and scores.count('"y": 0') == n_held

    # heat map of an image of the data set version: a PNG of the image's size
    r = c.get(f"{reg.base}/items/{reg.items[0]['id']}/heatmap.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (64, 64)

    # a threshold below every score rejects every good image: they are listed as false rejects
    token = c.cookies["aion_csrf"]
    bad = c.post(reg.base + "/threshold", data={"csrf_token": token, "threshold": "abc"})
    assert bad.status_code == 400 and "임계값은 숫자여야 합니다." in bad.text
    r = c.post(reg.base + "/threshold", data={"csrf_token": token, "threshold": "0.000001"})
    assert r.status_code == 200 and "새 버전으로 저장했습니다" in r.text, r.text
    new_id = int(re.search(r"/versions/(\d+)/report", str(r.url)).group(1))  # type: ignore[union-attr]
    assert new_id != reg.version_id
    rejects = r.text[r.text.index('id="false_rejects"') :].split("</section>")[0]
    assert rejects.count("/heatmap.png") == n_held  # every (held-back) good image is a false reject now
    assert 'id="m-frr">100.0%' in r.text
    with system_session(engine) as s:
        mv = s.get(ModelVersion, new_id)
        assert mv is not None and mv.params["threshold"] == 0.000001 and mv.number == 2
        saved = InspectionModel.load(PlatformStorage.at(tmp_path / "data").store.path(mv.sha256))
        assert saved.meta.threshold == 0.000001 and saved.meta.threshold_method == "manual"
        actions = s.scalars(select(AuditLog.action).where(AuditLog.entity == "RegisteredModel")).all()
        assert "inspection_threshold" in actions
        assert s.scalar(select(ModelVersion).where(ModelVersion.number == 3)) is None  # "abc" stored nothing

    # predictions of the new version use the saved threshold: a good photo now fails
    photo = png(7)
    old = c.post(
        reg.base + "/try", data={"csrf_token": token}, files={"photo": ("p.png", photo, "image/png")}
    )
    new = c.post(
        f"/models/{reg.model_id}/versions/{new_id}/try",
        data={"csrf_token": token},
        files={"photo": ("p.png", photo, "image/png")},
    )
    assert old.status_code == new.status_code == 200
    assert 'id="verdict">합격<' in old.text and 'id="verdict">불합격<' in new.text
    c.__exit__(None, None, None)


def _member_on_try_page(app: Any, world: World, engine: Engine, tmp_path: Path, model_file: Path) -> Any:
    """The model registered for a member's company; the member's client on its try-out page."""
    reg = register_model(app, world, engine, tmp_path, model_file, "a_member", "브래킷")
    c = client_for(app, world, "a_member")
    assert c.get(reg.base + "/try").status_code == 200
    return reg, c, c.cookies["aion_csrf"]


def test_try_a_photo_shows_score_verdict_heatmap_and_refuses_bad_files(
    app: Any, world: World, engine: Engine, tmp_path: Path, model_file: Path
) -> None:
    reg, c, token = _member_on_try_page(app, world, engine, tmp_path, model_file)

    def score(r: Any) -> float:
        return float(re.search(r'id="score">([^<]+)<', r.text).group(1))  # type: ignore[union-attr]

    good = c.post(
        reg.base + "/try", data={"csrf_token": token}, files={"photo": ("g.png", png(42), "image/png")}
    )
    ng = c.post(
        reg.base + "/try", data={"csrf_token": token}, files={"photo": ("n.png", png(942, defect=True), "x")}
    )
    assert good.status_code == ng.status_code == 200
    assert 'id="verdict">불합격<' in ng.text and score(ng) > score(good)
    assert 'id="part-match"' not in good.text  # the model does not follow the part
    heat = re.search(r'src="data:image/png;base64,([^"]+)"', ng.text).group(1)  # type: ignore[union-attr]
    assert Image.open(io.BytesIO(base64.b64decode(heat))).size == (64, 64)

    # a large photo: scored whole, its heat map shrunk for the page (longer side 1280)
    wide = np.random.default_rng(5).normal(128, 20, (1000, 2600)).clip(0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(wide).save(buf, "PNG")
    big = c.post(
        reg.base + "/try", data={"csrf_token": token}, files={"photo": ("w.png", buf.getvalue(), "x")}
    )
    heat = re.search(r'src="data:image/png;base64,([^"]+)"', big.text).group(1)  # type: ignore[union-attr]
    assert Image.open(io.BytesIO(base64.b64decode(heat))).size == (1280, 492)

    for name, data in (("broken.png", png(1)[:60]), ("empty.jpg", b""), ("notes.png", b"hello")):
        r = c.post(reg.base + "/try", data={"csrf_token": token}, files={"photo": (name, data, "image/png")})
        assert r.status_code == 400 and f"사진 {name}을(를) 읽을 수 없습니다" in r.text, r.text
    r = c.post(reg.base + "/try", data={"csrf_token": token})
    assert r.status_code == 400 and "검사할 사진을 고르세요." in r.text
    c.cookies.set("aion_lang", "en")
    en = c.post(
        reg.base + "/try", data={"csrf_token": token}, files={"photo": ("broken.png", b"xx", "image/png")}
    )
    assert en.status_code == 400 and "could not be read" in en.text
    c.__exit__(None, None, None)


def test_try_a_photo_names_the_statistic_that_decided(
    app: Any, world: World, engine: Engine, tmp_path: Path, pooled_model_file: Path
) -> None:
    reg, c, token = _member_on_try_page(app, world, engine, tmp_path, pooled_model_file)
    r = c.post(
        reg.base + "/try", data={"csrf_token": token}, files={"photo": ("n.png", png(942, defect=True), "x")}
    )
    assert r.status_code == 200 and "맵 통계 (양품 대비 표준편차)" in r.text
    stats = re.search(r'id="statistics">(.+?)\(', r.text, re.S).group(1)  # type: ignore[union-attr]
    shown = re.findall(r'data-key="([^"]+)">([^<]+)</span> <span class="mono">(-?[0-9.]+)<', stats)
    assert [(key, name) for key, name, _ in shown] == [
        ("top_1%", "상위 1% 평균"),
        ("top_10%", "상위 10% 평균"),
        ("whole_map", "맵 전체 평균"),
    ]
    values = {key: float(v) for key, _, v in shown}
    cause = re.search(r'id="cause" data-key="([^"]+)">', r.text).group(1)  # type: ignore[union-attr]
    assert cause == max(values, key=lambda k: values[k])
    assert ("부품 전체가 양품과 다름" if cause == "whole_map" else "부품의 한 부분이 양품과 다름") in r.text
    c.__exit__(None, None, None)


def test_report_warns_when_too_few_good_images_set_the_threshold(
    app: Any, world: World, engine: Engine, tmp_path: Path, pooled_model_file: Path, model_file: Path
) -> None:
    """30 good images, each scored left out in turn: a threshold set for a 1% false-reject rate on
    30 scores rejects a new good part about 1 time in 31, and the report says so in the reader's
    language (and that every good image counts as a new part); a threshold set for the best F1 on
    labelled defects promises no rate, and gets no warning."""
    n_good = InspectionModel.load(pooled_model_file).meta.calibration["n_good"]
    assert n_good == 30
    reg = register_model(app, world, engine, tmp_path, pooled_model_file, "a_member", "소량")
    c = client_for(app, world, "a_member")
    page = c.get(reg.base + "/report")
    note = page.text[page.text.index('id="held-note"') :][:300]
    assert f"{N_OK}장 모두 자기 패치를 뺀 메모리 뱅크로 잰 점수" in note  # the version's good images
    warning = page.text[page.text.index('id="threshold-warning"') :][:600]
    assert f"양품 이미지 {n_good}장의 점수로" in warning and f"{1 / (n_good + 1):.1%}" in warning
    assert "The threshold rests" not in warning  # the reader's language only
    c.cookies.set("aion_lang", "en")
    assert f"The threshold rests on {n_good} good images" in c.get(reg.base + "/report").text
    # its scores are in standard deviations of good parts: a threshold below 0 is a number like any
    assert 'data-standardised="1"' in page.text
    token = c.cookies["aion_csrf"]
    saved = c.post(reg.base + "/threshold", data={"csrf_token": token, "threshold": "-0.5"})
    assert saved.status_code == 200 and 'id="threshold-saved"' in saved.text
    c.__exit__(None, None, None)
    reg = register_model(app, world, engine, tmp_path, model_file, "a_member", "F1")
    c = client_for(app, world, "a_member")
    page = c.get(reg.base + "/report")
    assert 'id="threshold-warning"' not in page.text and "data-standardised" not in page.text
    # ... a model whose scores are distances takes none at or below 0
    refused = c.post(
        reg.base + "/threshold", data={"csrf_token": c.cookies["aion_csrf"], "threshold": "-0.5"}
    )
    assert refused.status_code == 400 and "임계값은 0보다 큰 숫자여야 합니다." in refused.text
    c.__exit__(None, None, None)


def test_a_file_that_is_no_inspection_model_gets_a_clear_message(
    app: Any, world: World, engine: Engine, tmp_path: Path
) -> None:
    fake = tmp_path / "not-a-model.aion"
    fake.write_bytes(b"not a zip at all")
    reg = register_model(app, world, engine, tmp_path, fake, "a_member", "가짜")
    c = client_for(app, world, "a_member")
    r = c.get(reg.base + "/report")
    assert r.status_code == 400 and "이 모델 파일을 검사 모델로 열 수 없습니다." in r.text
    r = c.post(
        reg.base + "/try",
        data={"csrf_token": c.cookies["aion_csrf"]},
        files={"photo": ("p.png", png(1), "image/png")},
    )
    assert r.status_code == 400 and "이 모델 파일을 검사 모델로 열 수 없습니다." in r.text
    c.__exit__(None, None, None)


def test_a_consultant_reads_the_report_but_cannot_save_a_threshold(
    app: Any, world: World, engine: Engine, tmp_path: Path, model_file: Path
) -> None:
    reg = register_model(app, world, engine, tmp_path, model_file, "a_member", "브래킷")
    c = client_for(app, world, "consultant")
    page = c.get(reg.base + "/report")
    assert page.status_code == 200 and 'id="hist"' in page.text
    assert "이 임계값을 새 버전으로 저장" not in page.text  # no save button for a reader
    r = c.post(reg.base + "/threshold", data={"csrf_token": c.cookies["aion_csrf"], "threshold": "0.5"})
    assert r.status_code == 403
    with system_session(engine) as s:
        assert s.scalars(select(ModelVersion.number)).all() == [1]
    c.__exit__(None, None, None)


def test_report_shows_the_defect_heads_gain_when_the_model_has_one(
    app: Any, world: World, engine: Engine, tmp_path: Path, model_file: Path
) -> None:
    reg = register_model(app, world, engine, tmp_path, model_file, "a_member", "브래킷")
    c = client_for(app, world, "a_member")
    assert 'id="defect-head"' not in c.get(reg.base + "/report").text  # no head: no card
    gain = {"pixel_auroc_bank": 0.78125, "pixel_auroc_head": 0.90625, "aupro_bank": 0.7, "aupro_head": 0.8}
    with system_session(engine) as s, s.begin():
        mv = s.get(ModelVersion, reg.version_id)
        assert mv is not None
        mv.report = {"train": {"n_head_images": 25, "head_gain": gain}}  # as a training job writes it
    page = c.get(reg.base + "/report")
    assert page.status_code == 200
    card = page.text[page.text.index('id="defect-head"') :]
    assert "불량 헤드" in card and "불량 마스크(또는 라벨링 화면에서 그린 상자) 25장" in card
    assert 'id="head-bank">0.781<' in card and 'id="head-combined">0.906<' in card
    c.__exit__(None, None, None)


def test_report_leaves_out_the_images_the_defect_head_learned_from(
    app: Any, world: World, engine: Engine, tmp_path: Path, model_file: Path
) -> None:
    """As ``evaluate`` does: the NG images a head learned from (the job records their paths)
    are not in the metrics, the histogram or the worst cases, and the page says how many."""
    reg = register_model(app, world, engine, tmp_path, model_file, "a_member", "브래킷")
    learned = [it["path"] for it in reg.items if it["label"] == "ng"][:2]
    with system_session(engine) as s, s.begin():
        mv = s.get(ModelVersion, reg.version_id)
        assert mv is not None
        mv.report = {"train": {"n_head_images": 2, "head_items": learned}}  # as a training job writes it
    c = client_for(app, world, "a_member")
    page = c.get(reg.base + "/report")
    assert page.status_code == 200
    assert "불량 헤드가 학습한 이미지 2장은 빼고 채점했습니다." in page.text
    scores = re.search(r'id="scores-data">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]
    n_held = len(InspectionModel.load(model_file).meta.calibration["good_fingerprints"])
    assert scores.count('"y": 1') == N_NG - 2 and scores.count('"y": 0') == n_held
    assert f"양품 {n_held}장, 불량 {N_NG - 2}장" in page.text
    c.__exit__(None, None, None)


def test_report_counts_the_held_back_good_images_as_new_parts(
    app: Any, world: World, engine: Engine, tmp_path: Path, model_file: Path
) -> None:
    """Every good training image is in the model's memory bank. The page knows them by content
    (the model's fingerprints, the blobs' sha256) and shows the held-back ones at the scores
    training measured against a bank without them, leaving out those that built the bank; a model
    that does not record them is scored in-sample, and the page says so."""
    model = InspectionModel.load(model_file)
    cal = model.meta.calibration
    n_held = len(cal["good_fingerprints"])
    reg = register_model(app, world, engine, tmp_path, model_file, "a_member", "브래킷")
    c = client_for(app, world, "a_member")
    page = c.get(reg.base + "/report")
    assert page.status_code == 200, page.text
    note = page.text[page.text.index('id="held-note"') :]
    assert f"떼어 둔 {n_held}장" in note and f"메모리 뱅크를 만든 {N_OK - n_held}장은 뺐습니다" in note
    scores = re.search(r'id="scores-data">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]
    assert scores.count('"y": 0') == n_held and scores.count('"y": 1') == N_NG
    for value in cal["good_scores"]:
        assert f'"s": {round(value, 6)}, "y": 0' in scores
    assert "그 점수를 낸 히트맵을 보여 줍니다" in note
    # how the threshold was set, and both thresholds training found, one click away
    basis = page.text[page.text.index('id="m-basis"') :]
    assert f"라벨된 불량 {N_NG}장과 떼어 둔 양품 {n_held}장에서 F1이 가장 높은 값" in basis[:300]
    for method in ("frr", "f1"):
        assert f'data-preset="{model.meta.thresholds[method]}" id="preset-{method}"' in page.text
    c.__exit__(None, None, None)

    # ... with the heat maps that gave those scores, stored in the file (not this model's, whose
    # bank may hold part of them): here made hotter than the model would draw them, to tell apart
    hot = model.with_threshold(model.meta.threshold)
    assert model.held_back_patches_ is not None
    hot.held_back_patches_ = model.held_back_patches_ * 3
    reg = register_model(
        app, world, engine, tmp_path, hot.save(tmp_path / "hot.aion"), "a_member", "브래킷 2"
    )
    c = client_for(app, world, "a_member")
    held = next(it for it in reg.items if it["sha256"][:16] in cal["good_fingerprints"])
    image = np.asarray(
        Image.open(io.BytesIO(c.get(f"/datasets/items/{held['id']}/file").content)).convert("RGB")
    )
    expected = hot.held_back_prediction(held["sha256"][:16], image, held["path"])
    assert expected is not None
    served = np.asarray(Image.open(io.BytesIO(c.get(f"{reg.base}/items/{held['id']}/heatmap.png").content)))
    assert np.array_equal(served, np.asarray(expected.heatmap(image)))
    assert not np.array_equal(served, np.asarray(hot.predict([image])[0].heatmap(image)))
    c.__exit__(None, None, None)

    # the same model without its fingerprints (as older files are): every image, in-sample
    model.meta = replace(model.meta, train_fingerprints=[])
    older = model.save(tmp_path / "older.aion")
    reg = register_model(app, world, engine, tmp_path, older, "a_member", "브래킷 이전")
    c = client_for(app, world, "a_member")
    page = c.get(reg.base + "/report")
    assert page.status_code == 200 and 'id="held-note"' not in page.text
    assert "학습 데이터 내 평가" in page.text
    scores = re.search(r'id="scores-data">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]
    assert scores.count('"y": 0') == N_OK and scores.count('"y": 1') == N_NG
    c.__exit__(None, None, None)


def test_report_lists_the_good_images_to_check_with_their_heat_maps_as_new_parts(
    app: Any, world: World, engine: Engine, tmp_path: Path, model_file: Path
) -> None:
    """Training scored every good image as a new part (``goodcheck.py``); the report shows the
    highest, each linked to its place on the labeling page, with the heat map that gave its score
    (stored in the file) rather than the one of this model, whose bank holds the image itself."""
    model = InspectionModel.load(model_file)
    listed = model.meta.calibration["unusual_good"]
    assert listed and any(not u["held_back"] for u in listed)
    reg = register_model(app, world, engine, tmp_path, model_file, "a_member", "브래킷")
    c = client_for(app, world, "a_member")
    page = c.get(reg.base + "/report")
    assert page.status_code == 200, page.text
    card = page.text[page.text.index('id="good-to-check"') :].split("</section>")[0]
    assert "다시 확인할 양품 이미지" in card and "NG로 라벨하고 다시 학습" in card
    by_fp = {it["sha256"][:16]: it for it in reg.items}
    links = re.findall(r'href="/datasets/(\d+)/label#item-(\d+)"', card)
    assert [int(i) for _, i in links] == [by_fp[u["fingerprint"]]["id"] for u in listed]  # highest first
    assert c.get(f"/datasets/{links[0][0]}/label").status_code == 200
    assert card.count("<strong>NG</strong>") == sum(u["score"] > model.meta.threshold for u in listed)

    u = next(u for u in listed if not u["held_back"])  # an image that built the bank
    item = by_fp[u["fingerprint"]]
    image = np.asarray(
        Image.open(io.BytesIO(c.get(f"/datasets/items/{item['id']}/file").content)).convert("RGB")
    )
    expected = model.held_back_prediction(u["fingerprint"], image, item["path"])
    assert expected is not None and abs(expected.raw_score - u["score"]) < 1e-2
    served = np.asarray(Image.open(io.BytesIO(c.get(f"{reg.base}/items/{item['id']}/heatmap.png").content)))
    assert np.array_equal(served, np.asarray(expected.heatmap(image)))
    assert not np.array_equal(served, np.asarray(model.predict([image])[0].heatmap(image)))
    c.__exit__(None, None, None)


def test_report_names_the_good_image_that_set_the_threshold(
    app: Any, world: World, engine: Engine, tmp_path: Path, pooled_model_file: Path, model_file: Path
) -> None:
    """30 good images, each scored left out in turn, a 1% target: the threshold is the highest of
    their scores, so the first good image to check set it, and the report says so there (if that
    part is defective, the threshold is too high). A model whose threshold-setting image is not
    listed marks none."""
    model = InspectionModel.load(pooled_model_file)
    first = model.meta.calibration["unusual_good"][0]
    assert first["score"] == pytest.approx(model.meta.thresholds["frr"], abs=1e-5)
    reg = register_model(app, world, engine, tmp_path, pooled_model_file, "a_member", "소량")
    c = client_for(app, world, "a_member")
    card = c.get(reg.base + "/report").text
    card = card[card.index('id="good-to-check"') :].split("</section>")[0]
    figures = card.split("<figure")[1:]
    item = next(it for it in reg.items if it["sha256"][:16] == first["fingerprint"])
    assert f"#item-{item['id']}" in figures[0] and 'id="threshold-setter"' in figures[0]
    assert "목표 과검출률 임계값을 정한 이미지" in figures[0] and card.count('id="threshold-setter"') == 1
    c.__exit__(None, None, None)
    reg = register_model(app, world, engine, tmp_path, model_file, "a_member", "브래킷")
    c = client_for(app, world, "a_member")
    page = c.get(reg.base + "/report").text
    assert 'id="good-to-check"' in page and 'id="threshold-setter"' not in page
    c.__exit__(None, None, None)


def test_try_a_photo_shows_where_the_part_matched(
    app: Any, world: World, engine: Engine, tmp_path: Path, aligned_model_file: Path
) -> None:
    reg, c, token = _member_on_try_page(app, world, engine, tmp_path, aligned_model_file)
    good = c.post(
        reg.base + "/try", data={"csrf_token": token}, files={"photo": ("g.png", png(42), "image/png")}
    )
    assert good.status_code == 200 and "기준 사진과 부품 일치도" in good.text
    shown = float(re.search(r'id="part-match"><span class="mono">([^<]+)<', good.text).group(1))  # type: ignore[union-attr]
    with InspectionModel.load(aligned_model_file) as model:
        image = np.asarray(Image.open(io.BytesIO(png(42))).convert("RGB"))
        match = model.predict([image])[0].part_match
    assert match is not None and shown == round(match, 3)
    # a photo without the part (a flat grey frame) matches nothing: the page says so
    buf = io.BytesIO()
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(buf, "PNG")
    flat = c.post(
        reg.base + "/try", data={"csrf_token": token}, files={"photo": ("f.png", buf.getvalue(), "x")}
    )
    assert flat.status_code == 200 and 'id="part-weak"' in flat.text and "맞는 부품인지" in flat.text
    c.__exit__(None, None, None)
