"""Deployments and trials through the JSON API: an integrator's script deploys the production
version of an inspection model to a camera machine, tries a new version beside it and adopts it,
with the same company scoping, roles, audit and line file (``deployed.json``) as the pages."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from aion.core.audit import AuditLog
from aion.core.db import system_session
from aion.line import service as lines
from aion.line.config import parse_line
from aion.line.scoring import DEPLOYED
from aion.platform import modelregistry as reg
from aion.platform.runtime import PlatformStorage
from aion.settings import Settings
from aion.solutions.inspection import TrainConfig, train
from aion.web.app import create_app
from tests.foundation.factories import World, make_world
from tests.platform.test_platform_deploy import token_for
from tests.platform.webtools import opened
from tests.solutions.inspection.conftest import make_mvtec

CAMERA_LINE = {
    "line": "press",
    "sources": [{"name": "cam", "kind": "camera", "folder": "/nonexistent", "camera": "station"}],
    "machines": [
        {"name": "station", "tags": [{"name": "image", "source": "cam", "high": 0.5}]},
        {"name": "press1", "tags": [{"name": "force", "source": "cam"}]},
    ],
}


def test_deploy_try_and_adopt_through_the_api(engine: Engine, db_url: str, tmp_path: Path) -> None:
    world: World = make_world(engine)
    data = tmp_path / "data"
    storage = PlatformStorage.at(data, storage_url="")
    files = []
    for seed in (3, 4):  # two versions of the same part's model
        parts = make_mvtec(tmp_path / f"parts{seed}", seed=seed, n_train=10, n_test_good=1, n_defect=1)
        model = train(parts, TrainConfig(resolution=64, threads=2, min_bank_size=100, check_good=False))
        files.append(model.save(tmp_path / f"bracket{seed}.aion"))
    with system_session(engine, actor="tests") as s:
        line = lines.apply_config(s, world.company_a, parse_line(CAMERA_LINE))
        station, press1 = (m.id for m in sorted(line.machines, key=lambda m: m.name != "station"))
        key = line.key
        registered = reg.get_or_create_model(s, world.company_a, "bracket", "inspection")
        v1, v2 = (
            reg.register_version(
                s, storage.store, registered, f, dataset_version_id=None, job_id=None, params={}, metrics={}
            ).id
            for f in files
        )
        model_id = registered.id
    app = create_app(Settings(env="test", data_dir=data, database_url=db_url, secret_key="s" * 48), engine)
    client = opened(TestClient(app))
    admin = {"Authorization": f"Bearer {token_for(engine, world.users['a_admin'])}"}
    base = f"/api/models/{model_id}"

    def line_file() -> dict:
        return json.loads((data / "line" / key / DEPLOYED).read_text(encoding="utf-8"))

    # nothing in production yet: refused in the reader's language, nothing written
    r = client.post(f"{base}/deployments", json={"machine_id": station}, headers=admin)
    assert r.status_code == 400 and "운영(production)으로 승격" in r.json()["detail"]
    english = opened(TestClient(app, cookies={"aion_lang": "en"})).post(
        f"{base}/deployments", json={"machine_id": station}, headers=admin
    )
    assert english.status_code == 400 and "Promote this version to production" in english.json()["detail"]
    assert not (data / "line" / key / DEPLOYED).exists()

    r = client.post(f"{base}/aliases", json={"version_id": v1, "alias": "production"}, headers=admin)
    assert r.status_code == 200, r.text
    r = client.post(f"{base}/deployments", json={"machine_id": station}, headers=admin)
    assert r.status_code == 201, r.text
    assert (r.json()["machine_id"], r.json()["version_id"]) == (station, v1)
    assert r.json()["deployed_by"] == world.emails["a_admin"]
    assert line_file()["machines"]["station"]["version"] == 1 and line_file()["trials"] == {}
    assert [d["machine_id"] for d in client.get(f"{base}/deployments", headers=admin).json()] == [station]

    # version 2 on trial beside it: the line file carries both, the station acts on version 1
    r = client.post(f"{base}/trials", json={"machine_id": press1, "version_id": v2}, headers=admin)
    assert r.status_code == 400 and "카메라" in r.json()["detail"]  # press1 has no camera
    r = client.post(f"{base}/trials", json={"machine_id": station, "version_id": v2}, headers=admin)
    assert r.status_code == 201, r.text
    assert (r.json()["version_id"], r.json()["started_by"]) == (v2, world.emails["a_admin"])
    doc = line_file()
    assert doc["machines"]["station"]["version"] == 1 and doc["trials"]["station"]["version"] == 2

    # company scoping and roles: another company's admin sees no such model, a member may not deploy
    other = {"Authorization": f"Bearer {token_for(engine, world.users['b_admin'])}"}
    member = {"Authorization": f"Bearer {token_for(engine, world.users['a_member'])}"}
    assert client.get(f"{base}/trials", headers=other).status_code == 404
    assert client.get(f"{base}/deployments", headers=other).status_code == 404
    assert client.post(f"{base}/trials/{station}/adopt", headers=other).status_code == 404
    assert client.delete(f"{base}/deployments/{station}", headers=member).status_code == 403
    assert client.post(f"{base}/trials/{station}/adopt", headers=member).status_code == 403
    assert line_file()["trials"]["station"]["version"] == 2  # untouched

    # adopted: version 2 is production and the machine's model, and the trial is over
    r = client.post(f"{base}/trials/{station}/adopt", headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["machine_id"], r.json()["version_id"]) == (station, v2)
    assert client.get(base, headers=admin).json()["aliases"]["production"] == v2
    assert client.get(f"{base}/trials", headers=admin).json() == []
    doc = line_file()
    assert doc["machines"]["station"]["version"] == 2 and doc["trials"] == {}
    assert client.delete(f"{base}/trials/{station}", headers=admin).status_code == 404  # none left

    # a trial ended without adopting it, then the model taken off the machine
    assert client.post(f"{base}/trials", json={"machine_id": station, "version_id": v1}, headers=admin).status_code == 201  # fmt: skip
    assert client.delete(f"{base}/trials/{station}", headers=admin).status_code == 204
    assert line_file()["trials"] == {} and line_file()["machines"]["station"]["version"] == 2
    assert client.delete(f"{base}/deployments/{station}", headers=admin).status_code == 204
    assert line_file()["machines"] == {} and client.get(f"{base}/deployments", headers=admin).json() == []

    with system_session(engine) as s:
        actions = [
            a.action
            for a in s.scalars(
                select(AuditLog).where(AuditLog.actor == world.emails["a_admin"]).order_by(AuditLog.id)
            )
            if a.action.startswith("model_")
        ]
    assert actions[-7:] == [
        "model_deploy",
        "model_trial_start",
        "model_promote",
        "model_deploy",
        "model_trial_start",
        "model_trial_end",
        "model_undeploy",
    ], actions
