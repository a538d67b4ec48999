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


def test_the_demo_camera_feeds_the_press_line_station(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo press line's camera writes bracket photos (some scratched) into the folder its
    camera source watches; each becomes a stored reading with its photo; old photos are pruned;
    a user's own line called press is left alone."""
    from aion.line import demo as demo_mod
    from aion.line.config import parse_line
    from aion.line.demo import load_station_demo

    monkeypatch.setattr(demo_mod, "CAMERA_KEEP", 4)
    world = make_world(engine)
    with system_session(engine) as s:
        line = load_station_demo(s, world.company_a, tmp_path)
        folder = service.line_dir(tmp_path, line)
        own = {"line": "press", "sources": [{"name": "cam", "kind": "camera", "folder": str(tmp_path / "real")}],
               "machines": [{"name": "station", "tags": [{"name": "image", "source": "cam"}]}]}  # fmt: skip
        theirs = service.line_dir(tmp_path, service.apply_config(s, world.company_b, parse_line(own)))
    assert [scratched for _, scratched in map(demo_mod.demo_photo, range(6))] == [False] * 5 + [True]
    demo = DemoLine(engine, tmp_path, photo_every_s=0.2)
    try:
        assert demo.start()

        def photos_stored() -> bool:
            if not (folder / "timeseries.sqlite").exists():
                return False
            store = SqliteStore(folder / "timeseries.sqlite")
            try:
                return len(store.attachments("station.image")) >= 6
            finally:
                store.close()

        assert wait_for(photos_stored, 40, step=0.5), "the demo camera's photos must reach the store"
        store = SqliteStore(folder / "timeseries.sqlite")
        shots = store.attachments("station.image")
        store.close()
        assert all(Path(a.ref).parent == (folder / "camera").resolve() for a in shots)
        assert all(a.value == 0.0 for a in shots)  # no model deployed yet: stored, not inspected
        assert len(list((folder / "camera").glob("*.png"))) <= 4  # pruned to the newest
    finally:
        demo.stop()
    assert not theirs.exists()  # the user's own press line was not run (nor its runtime written)
