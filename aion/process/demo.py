"""Demo data: a pump's sensor log with three faults, and a process model trained on it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from aion.accounts.models import Company
from aion.platform import datasets
from aion.platform.runtime import PlatformStorage
from aion.process.engine import score_and_store
from aion.process.kind import store_trained, table_items
from aion.solutions.process.loading import load_sensor_file
from aion.solutions.process.model import TrainConfig, propose_normal_period, train


def pump_log(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """A pump's pressure, flow, motor current and bearing temperature, one row a minute.

    Rows 1200-1230: a pressure spike; 1450-1650: the flow drifts down; 1750-1850: the temperature
    sensor freezes.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    pressure = 6 + 0.4 * np.sin(t / 25) + rng.normal(0, 0.05, n)
    flow = 120 + 8 * np.cos(t / 40) + rng.normal(0, 0.8, n)
    current = 30 + 0.1 * flow + rng.normal(0, 0.3, n)
    temp = 55 + 0.2 * np.sin(t / 90) * 5 + rng.normal(0, 0.2, n)
    pressure[1200:1230] += 2.5
    flow[1450:1650] -= np.linspace(0, 30, 200)
    temp[1750:1850] = temp[1750]
    ts = pd.date_range("2026-05-04 06:00", periods=n, freq="min")
    return pd.DataFrame(
        {"time": ts, "pressure_bar": pressure, "flow_m3h": flow, "current_a": current, "bearing_temp_c": temp}
    )


def load_demo(session: Session, companies: list[Company], data_dir: Path | None = None) -> None:
    """For the first company: a sensor data set with the pump log and a model trained on it."""
    if not companies:
        return
    from aion.settings import get_settings

    storage = PlatformStorage.at(data_dir or get_settings().data_dir)
    company = companies[0]
    ds = datasets.create_dataset(
        session, company.id, "1호 펌프 센서", "sensor_series", "압력·유량·전류·온도 (데모)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "pump-1.csv"
        pump_log().to_csv(csv, index=False)
        version = datasets.add_files(session, storage.store, storage.tmp, ds, [("pump-1.csv", csv)], "demo")
        frame, _ = load_sensor_file(csv)
        cfg = TrainConfig(centered=True)
        normal = propose_normal_period(frame)
        model = train(frame, normal, cfg)
        out, scores = Path(tmp) / "model.aion", Path(tmp) / "scores.npz"
        model.save(out)
        stored = score_and_store(model, frame)
        stored.save(scores)
        item = table_items(session, version.id)[0]
        meta = {
            "model_name": "1호 펌프 공정 모델",
            "dataset_version_id": version.id,
            "item_id": item.id,
            "item_path": item.path,
            "config": {"target_far": cfg.target_far, "centered": True},
            "normal": list(normal),
        }
        metrics = {
            "threshold": float(model.policy.threshold or 0.0),
            "alarms": float(len(stored.alarms()[1])),
        }
        store_trained(session, storage.store, company.id, meta, (out, scores), metrics, created_by="demo")
