"""The dashboard shows a company's users their inspection models, the data sets still to train and
their jobs, each with the next step, in their language; another company's never."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from aion.accounts.models import User
from aion.core.db import system_session
from aion.i18n import translations
from aion.web.dashboard import Panel, panels_for
from tests.foundation.factories import World
from tests.platform.test_platform_isolation import company_b_objects
from tests.platform.webtools import client_for, hold_jobs, image_zip_bytes, register_model, upload_resumable


def panel(html: str, key: str) -> str:
    """The HTML of one dashboard panel (empty when the page has none)."""
    m = re.search(rf'<section class="card panel" id="panel-{key}">(.*?)</section>', html, re.S)
    return m.group(1) if m else ""


def test_a_member_sees_what_to_do_next_then_their_model_and_jobs(
    app: Any, world: World, engine: Engine, tmp_path: Path
) -> None:
    c = client_for(app, world, "a_member")
    home = c.get("/").text
    # nothing yet: each panel says how to begin, in Korean
    assert "검사 이미지 데이터셋을 만들고" in panel(home, "inspection")
    assert "아직 작업이 없습니다" in panel(home, "jobs")
    assert "준비되는 대로" not in home  # the placeholder of the first release is gone

    ds = c.post("/api/datasets", json={"name": "브래킷 검사", "kind": "inspection_images"}).json()
    up = upload_resumable(c, ds["id"], "set.zip", image_zip_bytes(tmp_path, 4, 2))
    v = c.post(f"/api/datasets/{ds['id']}/versions", json={"uploads": [up]}).json()
    part = panel(c.get("/").text, "inspection")
    assert "브래킷 검사" in part and "아직 학습 전" in part
    assert f'href="/datasets/{ds["id"]}/versions/{v["id"]}">학습 시작' in part

    hold_jobs(app, engine, world.company_a)  # the job stays queued
    job = c.post(
        "/api/jobs", json={"dataset_id": ds["id"], "version_id": v["id"], "options": {"resolution": 64}}
    ).json()
    part = panel(c.get("/").text, "jobs")
    assert f'href="/jobs/{job["id"]}"' in part and "대기 중" in part
    assert "실행 중 0개, 대기 중 1개" in part
    assert 'id="panel-compute"' not in c.get("/").text  # the computing center is its administrator's
    # the computing center's administrator sees every company's waiting jobs, with the company
    admin_home = client_for(app, world, "admin").get("/").text
    admin = panel(admin_home, "compute")
    assert f'href="/jobs/{job["id"]}">알파정밀 · ' in admin and "실행 중 0개, 대기 중 1개" in admin
    assert 'id="panel-inspection"' not in admin_home

    f = tmp_path / "a-model.aion"
    f.write_bytes(b"alpha model")
    data = {"dataset_id": ds["id"], "version_id": v["id"], "job_id": job["id"]}
    ids = register_model(app, engine, world.company_a, "브래킷 모델", data, f, image_auroc=0.98765)
    part = panel(c.get("/").text, "inspection")
    assert "브래킷 모델" in part and "v1 · 이미지 AUROC 0.988" in part
    assert f'href="/models/{ids[0]}/versions/{ids[1]}/report">평가 보고서' in part
    assert f'href="/models/{ids[0]}/versions/{ids[1]}/try"' in part
    assert "아직 학습 전" not in part  # the data set has its model now

    c.cookies.set("aion_lang", "en")
    part = panel(c.get("/").text, "inspection")
    assert "Visual inspection" in part and "v1 · image AUROC 0.988" in part and "Evaluation report" in part
    with system_session(engine) as s:
        member, admin = s.get(User, world.users["a_member"]), s.get(User, world.users["admin"])
        assert_translated(panels_for(s, member) + panels_for(s, admin))


def assert_translated(panels: list[Panel]) -> None:
    """Every message id of the panels (titles, empty texts, notes, links) reads in Korean."""
    ko = translations("ko")
    ids = {p.title for p in panels} | {p.empty for p in panels} | {p.summary for p in panels if p.summary}
    ids |= {p.more[1] for p in panels if p.more}
    ids |= {r.note for p in panels for r in p.rows if r.note} | {
        x[1] for p in panels for r in p.rows for x in r.extra
    }
    assert len(ids) >= 12
    assert not sorted(m for m in ids if ko.gettext(m) == m)


def test_the_dashboard_shows_only_the_users_company(
    app: Any, world: World, engine: Engine, tmp_path: Path
) -> None:
    b = company_b_objects(app, world, engine, tmp_path)
    mine = client_for(app, world, "b_member").get("/").text
    assert "베타 비밀 모델" in panel(mine, "inspection") and f"/jobs/{b['job_id']}" in panel(mine, "jobs")
    for who in ("a_member", "a_admin"):
        home = client_for(app, world, who).get("/").text
        assert "베타" not in home and b["job_id"] not in home, who
    # the agency's staff have no company panels: they see companies and the program
    staff = client_for(app, world, "consultant").get("/").text
    assert 'id="panel-inspection"' not in staff and 'id="panel-jobs"' not in staff
