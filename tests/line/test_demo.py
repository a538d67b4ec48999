"""The live demo of `make run`: the simulated pump flows through the embedded broker and the real
pipeline into the demo line's store, and its faults raise alarms; one demo per data directory;
``AION_LINE_DEMO=1`` makes the web app start it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from aion.core.db import system_session
from aion.line import service
from aion.line.demo import DemoLine, load_demo
from aion.line.store.sqlite import SqliteStore
from aion.settings import Settings
from aion.web.app import create_app

from .factories import make_world
from .peers import wait_for


def test_simulated_pump_flows_into_the_store_and_its_faults_raise_alarms(
    engine: Engine, tmp_path: Path
) -> None:
    world = make_world(engine)
    with system_session(engine) as s:
        line = load_demo(s, world.company_b)
        folder = service.line_dir(tmp_path, line)
    demo = DemoLine(engine, tmp_path, rate_hz=10.0, period_s=6.0, length_s=3.0)  # a fault every 6 s
    second = DemoLine(engine, tmp_path)
    try:
        assert demo.start()
        assert not second.start(), "a second demo on the same data directory must not start"

        def low_pressure_alarm() -> bool:
            if not (folder / "timeseries.sqlite").exists():
                return False
            store = SqliteStore(folder / "timeseries.sqlite")
            try:
                return any(a.tag == "pump1.pressure" and a.rule == "low" for a in store.alarms())
            finally:
                store.close()

        assert wait_for(low_pressure_alarm, 40, step=0.5), "cavitation must raise a low-pressure alarm"
        store = SqliteStore(folder / "timeseries.sqlite")
        assert store.count("pump1.flow_rms") >= 30 and len(store.latest()) == 8
        store.close()
    finally:
        demo.stop()
        second.stop()


def test_the_web_app_starts_the_demo_when_asked(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    world = make_world(engine)
    with system_session(engine) as s:
        folder = service.line_dir(tmp_path, load_demo(s, world.company_a))
    monkeypatch.setenv("AION_LINE_DEMO", "1")
    app = create_app(
        Settings(env="test", data_dir=tmp_path, database_url=db_url, secret_key="s" * 48), engine
    )
    with TestClient(app):

        def flowing() -> bool:
            try:
                return json.loads((folder / "state.json").read_text())["stats"]["stored"] > 0
            except (OSError, ValueError, KeyError):
                return False

        assert wait_for(flowing, 40, step=0.5)
    time.sleep(0.5)
    assert not service.state_fresh(folder, max_age_s=0.4), "the demo stops with the app"
