"""A small generated sensor log and the web flow that trains a process model on it (HTTP, real jobs)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from tests.platform.webtools import wait_job

SPIKE = (900, 930)  # pressure jumps
DRIFT = (1100, 1250)  # flow drifts away
STUCK = (1350, 1450)  # temp freezes


def sensor_csv(n: int = 1500, seed: int = 0) -> bytes:
    """Sine and noise on three sensors with an injected spike, drift and stuck sensor; ``;`` and decimal commas."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    pressure = np.sin(t / 20) + rng.normal(0, 0.1, n)
    flow = np.cos(t / 30) * 2 + rng.normal(0, 0.1, n)
    temp = 0.5 * pressure + rng.normal(0, 0.1, n) + 20
    pressure[SPIKE[0] : SPIKE[1]] += 4
    flow[DRIFT[0] : DRIFT[1]] += np.linspace(0, 6, DRIFT[1] - DRIFT[0])
    temp[STUCK[0] : STUCK[1]] = temp[STUCK[0]]
    ts = pd.date_range("2026-03-01 08:00", periods=n, freq="min")
    df = pd.DataFrame(
        {"time": ts.strftime("%Y-%m-%d %H:%M:%S"), "pressure": pressure, "flow": flow, "temp": temp}
    )
    return df.to_csv(index=False, sep=";", decimal=",").encode("utf-8")


def create_sensor_dataset(c: TestClient, name: str) -> int:
    token = c.cookies["aion_csrf"]
    r = c.post("/datasets", data={"csrf_token": token, "name": name, "kind": "sensor_series"})
    assert r.status_code == 200, r.text[:500]
    ds_id = int(re.search(r"/datasets/(\d+)", str(r.url)).group(1))  # type: ignore[union-attr]
    r = c.post(
        f"/datasets/{ds_id}/upload",
        data={"csrf_token": token, "note": "pump"},
        files=[("files", ("pump-a.csv", sensor_csv(), "text/csv"))],
    )
    assert r.status_code == 200, r.text[:500]
    return ds_id


def field_value(html: str, name: str) -> str:
    m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    assert m, f"no {name} field"
    return m.group(1)


def train_through_web(c: TestClient, ds_id: int, **fields: str) -> dict[str, Any]:
    """Accept the proposed normal period (or ``fields``), train, wait; the job's outcome."""
    page = c.get(f"/datasets/{ds_id}/process")
    assert page.status_code == 200, page.text[:500]
    data = {
        "csrf_token": c.cookies["aion_csrf"],
        "item_id": field_value(page.text, "item_id"),
        "normal_start": field_value(page.text, "normal_start"),
        "normal_end": field_value(page.text, "normal_end"),
        "target_far": "1",
        **fields,
    }
    r = c.post(f"/datasets/{ds_id}/process/train", data=data)
    assert r.status_code == 200, r.text[:800]
    jobs = [j for j in c.get("/api/jobs").json() if j["kind"] == "train_process"]
    job = wait_job(c, jobs[0]["id"])
    assert job["state"] == "succeeded", job
    return dict(job["outcome"])
