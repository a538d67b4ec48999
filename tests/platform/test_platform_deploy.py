"""Deploy to a line: a company admin deploys the production version of a process model to a machine
from the registry page (audited, company-scoped); the running line then scores that machine's
readings with the model, without a restart."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aion.accounts import service as accounts
from aion.accounts.models import User
from aion.core.audit import AuditLog
from aion.core.db import system_session
from aion.line import service as lines
from aion.line.config import load_line, parse_line
from aion.line.models import Machine
from aion.line.runtime import build_pipeline
from aion.line.scoring import DEPLOYED
from aion.platform import modelregistry as reg
from aion.platform.models import Deployment, ModelVersion, RegisteredModel
from aion.platform.runtime import PlatformStorage
from aion.settings import Settings
from aion.solutions.process.frame import SensorFrame
from aion.solutions.process.model import TrainConfig, train
from aion.web.app import create_app
from tests.browser import BROWSER, chromium_page, log_in
from tests.foundation.factories import World, make_world
from tests.platform.webtools import client_for

SENSORS = ("pressure", "flow", "temp")


def line_doc(name: str) -> dict[str, object]:
    return {
        "line": name,
        "sources": [{"name": "gateway", "kind": "http"}],
        "machines": [
            {"name": "pump1", "tags": [{"name": n, "source": "gateway"} for n in (*SENSORS, "vibration")]},
            {"name": "fan1", "tags": [{"name": "speed", "source": "gateway", "high": 1000}]},
        ],
    }


def normal_rows(rng: np.random.Generator, n: int, start: int = 0) -> np.ndarray:
    t = np.arange(start, start + n)
    return np.c_[
        5 + 0.5 * np.sin(t / 20) + rng.normal(0, 0.05, n),
        100 + 10 * np.sin(t / 20) + rng.normal(0, 0.5, n),
        50 + rng.normal(0, 0.2, n),
    ]


def process_model_file(tmp_path: Path, seed: int = 0) -> Path:
    model = train(
        SensorFrame(normal_rows(np.random.default_rng(seed), 600), list(SENSORS)), (0, 600), TrainConfig()
    )
    path = tmp_path / f"pump-{seed}.aion"
    model.save(path)
    return path


def register_pump_model(
    s: Session, storage: PlatformStorage, world: World, tmp_path: Path, metrics: dict | None = None
) -> tuple[RegisteredModel, ModelVersion]:
    """Company A's process model "1호 펌프", version 1, trained on generated normal pump data."""
    model = reg.get_or_create_model(s, world.company_a, "1호 펌프", "process")
    v1 = reg.register_version(
        s,
        storage.store,
        model,
        process_model_file(tmp_path),
        dataset_version_id=None,
        job_id=None,
        params={},
        metrics=metrics or {},
        created_by="tests",
    )
    return model, v1


def token_for(engine: Engine, user_id: int) -> str:
    with system_session(engine) as s:
        user = s.get(User, user_id)
        assert user is not None
        return accounts.create_token(s, user, "gateway")[0]


def post_rows(client: TestClient, line_id: int, token: str, rows: np.ndarray, t0: float) -> None:
    bodies = [
        {"ts": t0 + i, **{n: float(v) for n, v in zip(SENSORS, row, strict=True)}}
        for i, row in enumerate(rows)
    ]
    r = client.post(
        f"/api/lines/{line_id}/ingest?machine=pump1",
        content=json.dumps(bodies),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 202, r.text


def test_deploy_a_promoted_process_model_to_a_line_machine(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    world: World = make_world(engine)
    data = tmp_path / "data"
    storage = PlatformStorage.at(data, storage_url="")
    with system_session(engine, actor="tests") as s:
        line = lines.apply_config(s, world.company_a, parse_line(line_doc("press")))
        runtime_yaml = lines.write_runtime(data, line)
        line_id, key = line.id, line.key
        pump1, fan1 = (m.id for m in sorted(line.machines, key=lambda m: m.name != "pump1"))
        other_line = lines.apply_config(s, world.company_b, parse_line(line_doc("mixer")))
        b_machine = next(m.id for m in other_line.machines if m.name == "pump1")
        model, v1 = register_pump_model(s, storage, world, tmp_path, metrics={"threshold": 1.0})
        model_id, v1_id, sha = model.id, v1.id, v1.sha256
        inspection = reg.get_or_create_model(s, world.company_a, "bracket", "inspection")
        inspection_id = inspection.id
    app = create_app(Settings(env="test", data_dir=data, database_url=db_url, secret_key="s" * 48), engine)
    admin = client_for(app, world, "a_admin")
    token = admin.cookies["aion_csrf"]

    def deploy(c: TestClient, machine_id: int, mid: int = model_id) -> object:
        return c.post(
            f"/models/{mid}/deploy",
            data={"csrf_token": c.cookies["aion_csrf"], "machine_id": machine_id},
            follow_redirects=False,
        )

    # the line runs before anything is deployed: its readings get the rules' scores (0 here)
    cfg = load_line(runtime_yaml)
    pipe = build_pipeline(cfg, data / "line")
    gateway = token_for(engine, world.users["a_member"])
    rng = np.random.default_rng(1)
    try:
        page = admin.get(f"/models/{model_id}")
        assert (
            "라인에 배포" in page.text
            and "배포하려면 먼저 버전 하나를 운영(production)으로 승격하세요." in page.text
        )
        r = deploy(admin, pump1)
        assert r.status_code == 400 and "배포하기 전에 이 버전을 운영(production)으로 승격하세요." in r.text
        r = admin.post(
            f"/models/{model_id}/versions/{v1_id}/promote", data={"csrf_token": token, "alias": "production"}
        )
        assert r.status_code == 200
        r = deploy(admin, fan1)  # a machine without the model's sensors: refused, naming them
        assert r.status_code == 400
        assert (
            "설비 fan1에 모델의 센서 pressure, flow, temp에 해당하는 태그가 없습니다 (설비의 태그: speed)."
            in r.text
        )
        assert deploy(admin, pump1, inspection_id).status_code == 400  # only process models
        # company scoping and roles
        assert deploy(admin, b_machine).status_code == 404  # another company's machine
        assert deploy(client_for(app, world, "b_admin"), pump1).status_code == 404  # another company's model
        assert deploy(client_for(app, world, "a_member"), pump1).status_code == 403  # not a line editor
        assert not (data / "line" / key / DEPLOYED).exists()

        post_rows(admin, line_id, gateway, normal_rows(rng, 30), time.time() - 200)
        for _ in range(3):
            pipe.step()
        assert max(v.score for v in pipe.store.latest().values()) == 0.0

        r = deploy(admin, pump1)
        assert r.status_code == 303 and r.headers["location"] == f"/models/{model_id}?msg=deployed"
        page = admin.get(r.headers["location"])
        assert "배포했습니다." in page.text and "pump1" in page.text and "v1" in page.text
        deployed = json.loads((data / "line" / key / DEPLOYED).read_text(encoding="utf-8"))
        assert (
            deployed["machines"]["pump1"]["sha256"] == sha and deployed["machines"]["pump1"]["version"] == 1
        )
        with system_session(engine) as s:
            row = s.scalars(select(Deployment)).one()
            assert (row.machine_id, row.version_id, row.company_id) == (pump1, v1_id, world.company_a)
            assert row.deployed_by == world.emails["a_admin"]
            audit = s.scalars(select(AuditLog).where(AuditLog.action == "model_deploy")).one()
            assert audit.company_id == world.company_a and audit.actor == world.emails["a_admin"]
            after = audit.after or {}
            assert (after["machine"], after["version"], after["before"]) == ("pump1", 1, None)
            assert s.get(Machine, pump1) is not None

        # the running line picks the model up (it checks once a second): normal rows stay under
        # the model's limit (1.0), a pressure jump the model never saw goes far over and alarms
        time.sleep(1.1)
        post_rows(admin, line_id, gateway, normal_rows(rng, 40, start=30), time.time() - 100)
        for _ in range(3):
            pipe.step()
        scores = {name: v.score for name, v in pipe.store.latest().items() if name.startswith("pump1.")}
        assert set(scores) == {f"pump1.{n}" for n in SENSORS} and 0.0 < max(scores.values()) < 1.0
        bad = normal_rows(rng, 15, start=70)
        bad[:, 0] += 3.0
        post_rows(admin, line_id, gateway, bad, time.time() - 50)
        for _ in range(3):
            pipe.step()
        assert pipe.store.latest()["pump1.pressure"].score > 10.0
        assert {a.tag for a in pipe.store.alarms() if a.rule == "score"} >= {"pump1.pressure"}

        # a new version, promoted and deployed: it replaces the old one (audited with what was there)
        with system_session(engine, actor="tests") as s:
            m = reg.get_model(s, model_id)
            v2 = reg.register_version(
                s,
                storage.store,
                m,
                process_model_file(tmp_path, seed=7),
                dataset_version_id=None,
                job_id=None,
                params={},
                metrics={},
            )
            reg.promote(s, m, v2.id)
            v2_id, sha2 = v2.id, v2.sha256
        assert deploy(admin, pump1).status_code == 303
        deployed = json.loads((data / "line" / key / DEPLOYED).read_text(encoding="utf-8"))
        assert (deployed["machines"]["pump1"]["version"], deployed["machines"]["pump1"]["sha256"]) == (
            2,
            sha2,
        )
        assert sorted(p.name for p in (data / "line" / key / "models").glob("*.aion")) == [f"{sha2}.aion"]
        with system_session(engine) as s:
            assert s.scalars(select(Deployment)).one().version_id == v2_id
            events = s.scalars(
                select(AuditLog).where(AuditLog.action == "model_deploy").order_by(AuditLog.id)
            )
            assert [(e.after or {}).get("before") for e in events] == [
                None,
                {"model_id": model_id, "version_id": v1_id},
            ]

        # taken off the machine: the running line scores it with its rules again (0 here)
        remove = f"/models/{model_id}/deployments/{pump1}/remove"
        assert client_for(app, world, "a_member").post(remove, data={"csrf_token": token}).status_code == 403
        assert "설비에서 배포 해제" in admin.get(f"/models/{model_id}").text
        r = admin.post(remove, data={"csrf_token": token}, follow_redirects=False)
        page = admin.get(r.headers["location"])
        assert (
            r.status_code == 303
            and "배포를 해제했습니다." in page.text
            and "설비에서 배포 해제" not in page.text
        )
        assert admin.post(remove, data={"csrf_token": token}).status_code == 404  # nothing left there
        deployed = json.loads((data / "line" / key / DEPLOYED).read_text(encoding="utf-8"))
        assert deployed["machines"] == {} and not list((data / "line" / key / "models").glob("*.aion"))
        with system_session(engine) as s:
            assert s.scalars(select(Deployment)).all() == []
            assert s.scalars(
                select(AuditLog).where(AuditLog.action == "model_undeploy")
            ).one().entity_id == str(pump1)
        time.sleep(1.1)
        post_rows(admin, line_id, gateway, bad, time.time() - 10)
        for _ in range(3):
            pipe.step()
        assert pipe.store.latest()["pump1.pressure"].score == 0.0
    finally:
        pipe.close()


@BROWSER[0]
@BROWSER[1]
def test_company_admin_deploys_from_the_model_page_in_a_browser(
    server: tuple[str, World],
    engine: Engine,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    base, world = server
    data = tmp_path / "data"  # the server fixture's data directory
    storage = PlatformStorage.at(data, storage_url="")
    with system_session(engine, actor="tests") as s:
        line = lines.apply_config(s, world.company_a, parse_line(line_doc("press")))
        lines.write_runtime(data, line)
        pump1, key = next(m.id for m in line.machines if m.name == "pump1"), line.key
        model, v1 = register_pump_model(s, storage, world, tmp_path)
        reg.promote(s, model, v1.id)
        model_id = model.id
    with chromium_page("ko-KR") as page:
        log_in(page, base, world.emails["a_admin"])
        page.goto(f"{base}/models/{model_id}")
        expect(page.get_by_role("heading", name="라인에 배포")).to_be_visible()
        page.locator("#deploy-machine").select_option(str(pump1))
        page.get_by_role("button", name="v1(운영) 배포").click()
        expect(page.locator("#deployed-notice")).to_be_visible()
        expect(page.locator("#deployments tbody tr").first).to_contain_text("pump1")
        page.screenshot(path=str(tmp_path / "deploy.png"), full_page=True)
    assert (data / "line" / key / DEPLOYED).exists()


def test_deploy_an_inspection_model_to_a_camera_station(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """The production version of an inspection model, deployed to the machine a camera takes
    photos for, inspects the running line's next photos; a machine without a camera is refused."""
    from aion.solutions.inspection import TrainConfig as InspectionConfig
    from aion.solutions.inspection import train as train_inspection
    from tests.solutions.inspection.conftest import add_defect, make_mvtec, save, texture

    world: World = make_world(engine)
    data, camera = tmp_path / "data", tmp_path / "camera"
    camera.mkdir()
    storage = PlatformStorage.at(data, storage_url="")
    parts = make_mvtec(tmp_path / "parts", seed=3, n_train=12, n_test_good=1, n_defect=1)
    trained = train_inspection(parts, InspectionConfig(resolution=64, threads=2, min_bank_size=200))
    doc = {
        "line": "press",
        "sources": [{"name": "cam", "kind": "camera", "folder": str(camera), "camera": "station",
                     "settle_s": 0.0, "scan_interval": 0.0}],
        "machines": [{"name": "station", "tags": [{"name": "image", "source": "cam", "high": 0.5}]},
                     {"name": "press1", "tags": [{"name": "force", "source": "cam"}]}],
    }  # fmt: skip
    with system_session(engine, actor="tests") as s:
        line = lines.apply_config(s, world.company_a, parse_line(doc))
        runtime_yaml = lines.write_runtime(data, line)
        station, press1 = (m.id for m in sorted(line.machines, key=lambda m: m.name != "station"))
        model = reg.get_or_create_model(s, world.company_a, "bracket", "inspection")
        version = reg.register_version(
            s, storage.store, model, trained.save(tmp_path / "bracket.aion"),
            dataset_version_id=None, job_id=None, params={}, metrics={},
        )  # fmt: skip
        reg.promote(s, model, version.id)
        model_id, sha, key, line_id = model.id, version.sha256, line.key, line.id
    app = create_app(Settings(env="test", data_dir=data, database_url=db_url, secret_key="s" * 48), engine)
    admin = client_for(app, world, "a_admin")

    def deploy(machine_id: int) -> object:
        form = {"csrf_token": admin.cookies["aion_csrf"], "machine_id": machine_id}
        return admin.post(f"/models/{model_id}/deploy", data=form, follow_redirects=False)

    rng = np.random.default_rng(4)
    t0 = time.time() - 100

    def photo(name: str, img: np.ndarray, at: float) -> None:
        save(img, camera / name)
        os.utime(camera / name, (t0 + at, t0 + at))

    pipe = build_pipeline(load_line(runtime_yaml), data / "line")
    try:
        photo("before.png", add_defect(texture(rng), rng, "spot")[0], 0)
        for _ in range(2):
            pipe.step()
        assert pipe.store.latest()["station.image"].value == 0.0  # no model yet

        r = deploy(press1)
        assert r.status_code == 400
        assert "라인 press에 설비 press1의 사진을 찍는 카메라가 없습니다" in r.text
        r = deploy(station)
        assert r.status_code == 303 and r.headers["location"] == f"/models/{model_id}?msg=deployed"
        assert (
            "이제 라인이 이 설비의 카메라 사진을 운영(production) 버전으로 검사합니다."
            in admin.get(r.headers["location"]).text
        )
        entry = json.loads((data / "line" / key / DEPLOYED).read_text(encoding="utf-8"))["machines"][
            "station"
        ]
        assert (entry["kind"], entry["sha256"]) == ("inspection", sha)
        assert "아직 측정 전" in admin.get(f"/models/{model_id}").text  # no photo scored by it yet

        time.sleep(1.1)  # the line looks at its deployments once a second
        photo("good.png", texture(rng), 1)
        photo("scratch.png", add_defect(texture(rng), rng, "scratch")[0], 2)
        for _ in range(2):
            pipe.step()
        values = {round(p.ts - t0): p.value for p in pipe.store.query("station.image", 0, time.time())}
        assert values[0] == 0.0 and values[1] < 0.5 < values[2]
        assert [a.tag for a in pipe.store.alarms()] == ["station.image"]
    finally:
        pipe.close()
    # the model page says how fast this version inspects on the line PC (what the station timed)
    page = admin.get(f"/models/{model_id}").text
    speed = json.loads((data / "line" / key / "station_speed.json").read_text(encoding="utf-8"))
    assert speed["cameras"]["station"]["model"] == "bracket v1" and speed["cameras"]["station"]["photos"] == 2
    ms = round(speed["cameras"]["station"]["ms_median"])
    assert f'href="/lines/{line_id}/photos?camera=station.image">중앙값 {ms} ms</a>' in page
    assert "사진 2장" in page and "아직 측정 전" not in page
