"""An app, clients and a company's data made through the real HTTP API (for the web tests)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.foundation.conftest import csrf_of, login
from tests.foundation.factories import World
from tests.platform.helpers import png

#: Clients opened by :func:`client_for`; the root conftest closes them after each test, so that no
#: app's job runtime outlives its test and harvests the next test's jobs on a shared database.
OPEN_CLIENTS: list[TestClient] = []


def close_clients() -> None:
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().__exit__(None, None, None)


def opened(client: TestClient) -> TestClient:
    """The client with its app started (the app's job runtime too), closed after the test."""
    client.__enter__()
    OPEN_CLIENTS.append(client)
    return client


def client_for(app: Any, world: World, who: str) -> TestClient:
    c = opened(TestClient(app))
    login(c, world.emails[who])
    csrf_of(c)
    return c


def upload_resumable(c: TestClient, dataset_id: int, name: str, data: bytes, chunk: int = 3000) -> str:
    r = c.post(f"/api/datasets/{dataset_id}/uploads", json={"filename": name, "size": len(data)})
    assert r.status_code == 201, r.text
    up = r.json()["upload_id"]
    offset = 0
    while offset < len(data):
        r = c.put(
            f"/api/uploads/{up}?offset={offset}",
            content=data[offset : offset + chunk],
            headers={"content-type": "application/octet-stream", "x-csrf-token": c.cookies["aion_csrf"]},
        )
        assert r.status_code == 200, r.text
        offset = r.json()["offset"]
    return str(up)


def image_zip_bytes(tmp: Path, n_ok: int, n_ng: int, seed: int = 0) -> bytes:
    from tests.platform.helpers import make_zip

    entries = {f"ok/{i}.png": png(seed + i) for i in range(n_ok)}
    entries.update({f"ng/{i}.png": png(seed + 500 + i, defect=True) for i in range(n_ng)})
    return make_zip(tmp / f"set-{seed}.zip", entries).read_bytes()


def wait_job(c: TestClient, job_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = c.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("succeeded", "failed", "cancelled") and (
            job["state"] != "succeeded" or job["outcome"]
        ):
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


def hold_jobs(app: Any, engine: Any, company_id: int) -> None:
    """No CPU hours left for the company this month: its jobs stay queued, no worker starts."""
    from aion.core.db import system_session
    from aion.platform import jobs

    with system_session(engine) as s:
        jobs.set_quota(
            s,
            app.state.platform,
            company_id,
            weight=1.0,
            max_concurrent_jobs=None,
            cpu_hours_per_month=0.0,
            gpu_hours_per_month=None,
            storage_bytes=None,
        )


def register_model(
    app: Any,
    engine: Any,
    company_id: int,
    name: str,
    data: dict[str, Any],
    path: Path,
    params: dict[str, Any] | None = None,
    **metrics: float,
) -> tuple[int, int]:
    """An inspection model of the company with one version (the file at ``path``), as a finished
    training job registers it; ``data`` holds ``dataset_id``, ``version_id`` and, if a job made
    it, ``job_id``. Returns ``(model id, model version id)``."""
    from aion.core.db import system_session
    from aion.platform import modelregistry

    with system_session(engine) as s:
        model = modelregistry.get_or_create_model(s, company_id, name, "inspection", data["dataset_id"])
        mv = modelregistry.register_version(
            s,
            app.state.platform.storage.store,
            model,
            path,
            dataset_version_id=data["version_id"],
            job_id=data.get("job_id"),
            params=params or {},
            metrics=metrics,
        )
        return model.id, mv.id


def upload_form(c: TestClient, dataset_id: int, *files: tuple[str, bytes], **form: str) -> Any:
    """Files sent with the data set page's upload form (``files``: name and bytes each)."""
    return c.post(
        f"/datasets/{dataset_id}/upload",
        data={"csrf_token": c.cookies["aion_csrf"], **form},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )
