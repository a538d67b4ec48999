"""Another company's member gets 404 for every data set, upload, job and model route (page, API, download)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from aion.core.db import system_session
from aion.line import service as lines
from aion.line.config import parse_line
from aion.platform import modelregistry
from aion.web.routes import id_routes
from tests.foundation.factories import World
from tests.platform.webtools import client_for, hold_jobs, image_zip_bytes, register_model, upload_resumable

PLATFORM = (
    "/datasets",
    "/api/datasets",
    "/jobs",
    "/api/jobs",
    "/models",
    "/api/models",
    "/api/uploads",
    "/compute",
)


def company_b_objects(app: Any, world: World, engine: Engine, tmp_path: Path) -> dict[str, str]:
    """Company B's data set, version, item, upload, job, model and model version, made for real."""
    c = client_for(app, world, "b_member")
    ds = c.post("/api/datasets", json={"name": "베타 비밀 데이터", "kind": "inspection_images"}).json()
    up = upload_resumable(c, ds["id"], "set.zip", image_zip_bytes(tmp_path, 3, 1))
    v = c.post(f"/api/datasets/{ds['id']}/versions", json={"uploads": [up]}).json()
    items = c.get(f"/api/datasets/{ds['id']}/versions/{v['id']}/items").json()
    pending = upload_resumable(c, ds["id"], "more.png", b"\x89PNG" + b"0" * 50, chunk=10)
    hold_jobs(app, engine, world.company_b)  # B's job stays queued, so no worker starts
    job = c.post(
        "/api/jobs", json={"dataset_id": ds["id"], "version_id": v["id"], "options": {"resolution": 64}}
    ).json()
    c.post(f"/api/jobs/{job['id']}/cancel")
    f = tmp_path / "b-model.aion"
    f.write_bytes(b"beta model")
    data = {"dataset_id": ds["id"], "version_id": v["id"], "job_id": job["id"]}
    model_id, mv_id = register_model(app, engine, world.company_b, "베타 비밀 모델", data, f, f1=1.0)
    with system_session(engine) as s:
        modelregistry.promote(s, modelregistry.get_model(s, model_id), mv_id)
        line = lines.apply_config(
            s, world.company_b, parse_line({"line": "mixer", "machines": [{"name": "m1", "tags": ["x"]}]})
        )
        ids = {"model_id": str(model_id), "mv": str(mv_id), "machine_id": str(line.machines[0].id)}
    c.__exit__(None, None, None)
    return {
        "dataset_id": str(ds["id"]),
        "version_id": str(v["id"]),
        "item_id": str(items[0]["id"]),
        "upload_id": pending,
        "job_id": job["id"],
        "company_id": str(world.company_b),
        **ids,
    }


def fill(path: str, objs: dict[str, str]) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "version_id" and path.startswith(("/models", "/api/models")):
            return objs["mv"]
        return objs[name]

    return re.sub(r"{(\w+)}", value, path)


def test_every_platform_route_with_an_id_is_404_for_another_company(
    app: Any, world: World, engine: Engine, tmp_path: Path
) -> None:
    b = company_b_objects(app, world, engine, tmp_path)
    routes = [(m, p) for m, p in id_routes(app) if p.startswith(PLATFORM)]
    assert len(routes) >= 30
    body = {
        "filename": "x.png",
        "size": 10,
        "uploads": [b["upload_id"]],
        "version_id": int(b["mv"]),
        "alias": "production",
        "value": "ok",
        "dataset_id": int(b["dataset_id"]),
        "machine_id": int(b["machine_id"]),
        "note": "",
    }
    for who in ("a_member", "a_admin"):
        c = client_for(app, world, who)
        token = c.cookies["aion_csrf"]
        for method, path in routes:
            url = fill(path, b)
            if method == "GET":
                r = c.get(url)
            elif path.startswith("/api/"):
                r = c.request(method, url + ("?offset=0" if method == "PUT" else ""), json=body)
            else:
                r = c.request(
                    method, url, data={"csrf_token": token, "value": "ok", "kind": "train_inspection"}
                )
            assert r.status_code == 404, f"{who} {method} {url} -> {r.status_code} {r.text[:200]}"
            assert "베타" not in r.text, f"{method} {url} leaks company B's names"
        # lists show nothing of B either
        for url in ("/datasets", "/jobs", "/models", "/api/datasets", "/api/jobs", "/api/models"):
            r = c.get(url)
            assert r.status_code == 200 and "베타" not in r.text, url
        c.__exit__(None, None, None)
    # B's own member reaches the same objects: the 404 is about ownership, not the route
    c = client_for(app, world, "b_member")
    for url in (
        f"/datasets/{b['dataset_id']}",
        f"/api/jobs/{b['job_id']}",
        f"/models/{b['model_id']}",
        f"/models/{b['model_id']}/versions/{b['mv']}/download",
        f"/datasets/items/{b['item_id']}/file",
        f"/datasets/items/{b['item_id']}/preview",
        f"/api/uploads/{b['upload_id']}",
    ):
        assert c.get(url).status_code == 200, url
    c.__exit__(None, None, None)


def test_staff_see_every_company_but_only_admin_sets_quotas(app: Any, world: World) -> None:
    c = client_for(app, world, "consultant")
    assert c.get("/compute/admin").status_code == 403
    c.__exit__(None, None, None)
    c = client_for(app, world, "admin")
    page = c.get("/compute/admin")
    assert page.status_code == 200 and "베타화학" in page.text and "알파정밀" in page.text
    r = c.post(
        f"/compute/admin/quotas/{world.company_b}",
        data={
            "csrf_token": c.cookies["aion_csrf"],
            "weight": "2",
            "max_concurrent_jobs": "1",
            "storage_gb": "0.5",
        },
    )
    assert r.status_code == 200 and "베타화학" in r.text  # redirected back to the page
    assert "/ 512.0 MiB</td>" in r.text  # the quota as it was entered: 0.5 GiB
    assert app.state.platform.service().scheduler.policy(str(world.company_b)).weight == 2.0
    bad = c.post(
        f"/compute/admin/quotas/{world.company_b}", data={"csrf_token": c.cookies["aion_csrf"], "weight": "x"}
    )
    assert bad.status_code == 400
    c.__exit__(None, None, None)
    m = client_for(app, world, "b_admin")
    assert m.get("/compute/admin").status_code == 403
    r = m.post(
        f"/compute/admin/quotas/{world.company_b}", data={"csrf_token": m.cookies["aion_csrf"], "weight": "9"}
    )
    assert r.status_code == 403
    m.__exit__(None, None, None)
