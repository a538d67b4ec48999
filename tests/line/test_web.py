"""Lines in the database, their pages, the live stream, acknowledgement and interlock; isolation.

Every test runs on SQLite and, with AION_TEST_POSTGRES_URL, on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from aion.core.audit import AuditLog
from aion.core.db import system_session
from aion.line import service
from aion.line.alarms import AlarmManager
from aion.line.config import example_path, load_line
from aion.line.model import Reading, Scored
from aion.line.models import Line, Tag
from aion.line.store.sqlite import SqliteStore
from aion.line.writeback import Interlock
from aion.settings import Settings
from aion.web.app import create_app

from .factories import PASSWORD, World


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def line_id(engine: Engine, world: World, data_dir: Path) -> int:
    with system_session(engine, actor="tests") as s:
        line = service.apply_config(s, world.company_a, load_line(example_path()))
        service.write_runtime(data_dir, line)
        return line.id


@pytest.fixture
def client(engine: Engine, db_url: str, data_dir: Path, world: World) -> Iterator[TestClient]:
    settings = Settings(env="test", data_dir=data_dir, database_url=db_url, secret_key="s" * 48)
    with TestClient(create_app(settings, engine)) as c:
        yield c


def login(client: TestClient, email: str) -> None:
    r = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text


def csrf(client: TestClient) -> str:
    if "aion_csrf" not in client.cookies:
        client.get("/login")
    return client.cookies["aion_csrf"]


def feed(data_dir: Path, engine: Engine, line_id: int, values: list[float]) -> SqliteStore:
    """Store pump1.pressure readings the way the pipeline does, raising alarms on the low limit."""
    with system_session(engine) as s:
        line = s.get(Line, line_id)
        assert line is not None
        cfg = service.to_config(line)
        folder = service.line_dir(data_dir, line)
    store = SqliteStore(folder / "timeseries.sqlite")
    alarms = AlarmManager(cfg.line, cfg.tags, active=store.alarms(cfg.line, active_only=True))
    t0 = time.time() - len(values)
    scored = [Scored(Reading("pump1.pressure", t0 + i, v, i), 0.0) for i, v in enumerate(values)]
    store.write(scored)
    for ev in alarms.evaluate(scored):
        store.save_alarm(ev.alarm)
    return store


def test_apply_command_writes_line_machines_and_tags(engine: Engine, db_url: str, world: World, tmp_path: Path) -> None:  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AION_")}
    env.update(AION_DATA_DIR=str(tmp_path / "d"), AION_DATABASE_URL=db_url, AION_LOG_FORMAT="text")
    yaml_text = example_path().read_text(encoding="utf-8")
    src = tmp_path / "line.yaml"
    src.write_text(yaml_text)
    run = [sys.executable, "-m", "aion", "line", "apply", str(src), "--company", str(world.company_b)]
    out = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    # apply again with a changed limit and one tag fewer: the database follows the file
    src.write_text(yaml_text.replace("high: 95,", "high: 97,").replace(
        "      - {name: voltage, unit: V, source: broker, low: 215, high: 245, deadband: 2}\n", ""))  # fmt: skip
    out = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    with system_session(engine) as s:
        line = s.scalars(select(Line).where(Line.company_id == world.company_b)).one()
        tags = {t.full_name: t for m in line.machines for t in m.tags}
        assert len(tags) == 7 and "pump1.voltage" not in tags
        assert tags["pump1.temperature"].high == 97 and tags["pump1.pressure"].low == 0.12
        runtime = tmp_path / "d" / "line" / line.key / "line.yaml"
    assert load_line(runtime).tags["pump1.temperature"].high == 97
    bad = subprocess.run(
        run[:-1] + ["99999"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert bad.returncode == 2 and "99999" in bad.stderr


def test_other_company_gets_404_on_pages_api_and_stream(client: TestClient, world: World, line_id: int, engine: Engine) -> None:  # fmt: skip
    with system_session(engine) as s:
        tag_id = s.scalars(select(Tag.id).where(Tag.company_id == world.company_a)).first()
    login(client, world.emails["b_admin"])
    token = csrf(client)
    for url in (f"/lines/{line_id}", f"/lines/{line_id}/live", f"/lines/{line_id}/stream?limit=1",
                f"/api/lines/{line_id}", f"/api/lines/{line_id}/live"):  # fmt: skip
        assert client.get(url).status_code == 404, url
    posts = {
        f"/lines/{line_id}/tags/{tag_id}": {"high": "1"},
        f"/lines/{line_id}/interlock": {"enabled": "1"},
        f"/lines/{line_id}/alarms/ack": {"alarm_id": "x"},
    }
    for url, form in posts.items():
        assert client.post(url, data={**form, "csrf_token": token}).status_code == 404, url
    assert client.post(f"/api/lines/{line_id}/alarms/ack", json={"alarm_id": "x"}).status_code == 404
    assert client.get("/api/lines").json() == []
    assert "demo" not in client.get("/lines").text
    with system_session(engine) as s:
        line = s.get(Line, line_id)
        assert line is not None and not line.interlock_enabled


def test_member_sees_line_and_stream_pushes_values_and_alarms(client: TestClient, world: World, line_id: int, engine: Engine, data_dir: Path) -> None:  # fmt: skip
    feed(data_dir, engine, line_id, [0.25, 0.24, 0.05, 0.04]).close()  # below the low limit 0.12
    login(client, world.emails["a_member"])
    page = client.get("/lines")
    assert page.status_code == 200 and "demo" in page.text
    assert "pump1.pressure" in client.get(f"/lines/{line_id}/live").text
    with client.stream("GET", f"/lines/{line_id}/stream?limit=1") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        frames = [ln for ln in r.iter_lines() if ln.startswith("data: ")]
    snap = json.loads(frames[0][6:])
    assert snap["values"]["pump1.pressure"]["value"] == pytest.approx(0.04)
    assert snap["values"]["pump1.pressure"]["unit"] == "bar"
    assert len(snap["trends"]["pump1.pressure"]) >= 2
    [alarm] = snap["alarms"]
    assert alarm["rule"] == "low" and alarm["state"] == "raised" and alarm["count"] == 2


def test_acknowledge_is_stored_audited_and_survives_pipeline_updates(client: TestClient, world: World, line_id: int, engine: Engine, data_dir: Path) -> None:  # fmt: skip
    store = feed(data_dir, engine, line_id, [0.25, 0.05])
    [alarm] = store.alarms()
    login(client, world.emails["a_member"])
    r = client.post(f"/lines/{line_id}/alarms/ack", data={"alarm_id": alarm.id, "csrf_token": csrf(client)},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    # the pipeline keeps updating the alarm (it does not know of the acknowledgement)
    alarm.count += 5
    store.save_alarm(alarm)
    [after] = store.alarms()
    assert after.acked_by == world.emails["a_member"] and after.count == 6 and after.state == "acknowledged"
    store.close()
    assert client.post(f"/api/lines/{line_id}/alarms/ack", json={"alarm_id": alarm.id}).json() == {
        "acknowledged": False
    }
    assert client.post(f"/api/lines/{line_id}/alarms/ack", json={"alarm_id": "nope"}).status_code == 404
    r = client.post(f"/api/lines/{line_id}/alarms/ack", json={"alarm": alarm.id})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "alarm_id"
    with system_session(engine) as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == "line_alarm_ack")))
    assert (
        len(rows) == 1 and rows[0].actor == world.emails["a_member"] and rows[0].company_id == world.company_a
    )


def test_interlock_needs_company_admin_and_is_audited(client: TestClient, world: World, line_id: int, engine: Engine, data_dir: Path) -> None:  # fmt: skip
    login(client, world.emails["a_member"])
    assert (
        client.post(
            f"/lines/{line_id}/interlock", data={"enabled": "1", "csrf_token": csrf(client)}
        ).status_code
        == 403
    )  # noqa: E501
    assert client.post(f"/lines/{line_id}/interlock", data={"enabled": "1"}).status_code == 403  # no CSRF
    login(client, world.emails["a_admin"])
    r = client.post(f"/lines/{line_id}/interlock", data={"enabled": "1", "csrf_token": csrf(client)},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    with system_session(engine) as s:
        line = s.get(Line, line_id)
        assert line is not None and line.interlock_enabled and line.interlock_by == world.emails["a_admin"]
        folder = service.line_dir(data_dir, line)
        actions = [a.action for a in s.scalars(select(AuditLog).where(AuditLog.entity == "Line"))]
    assert "line_interlock_on" in actions
    lock = Interlock(folder / "interlock.json", "x")
    assert lock.enabled and lock.state()["by"] == world.emails["a_admin"]  # what the pipeline reads


def test_tag_limits_edited_in_the_page_reach_the_runtime_config(client: TestClient, world: World, line_id: int, engine: Engine, data_dir: Path) -> None:  # fmt: skip
    with system_session(engine) as s:
        tag = s.scalars(select(Tag).where(Tag.name == "pressure", Tag.company_id == world.company_a)).one()
        tag_id = tag.id
    login(client, world.emails["a_admin"])
    url = f"/lines/{line_id}/tags/{tag_id}"
    bad = client.post(url, data={"unit": "bar", "low": "2", "high": "1", "csrf_token": csrf(client)})
    assert bad.status_code == 400 and "하한" in bad.text
    bad = client.post(url, data={"unit": "bar", "low": "abc", "csrf_token": csrf(client)})
    assert bad.status_code == 400
    ok = client.post(url, data={"unit": "bar", "low": "0.15", "high": "", "deadband": "0.01", "csrf_token": csrf(client)},
                     follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303
    with system_session(engine) as s:
        line = s.get(Line, line_id)
        assert line is not None
        runtime = load_line(service.line_dir(data_dir, line) / "line.yaml")
        audited = s.scalars(
            select(AuditLog).where(AuditLog.entity == "Tag", AuditLog.action == "update")
        ).all()
    assert runtime.tags["pump1.pressure"].low == 0.15 and runtime.tags["pump1.pressure"].high is None
    assert any(a.after and a.after.get("low") == 0.15 for a in audited)
    login(client, world.emails["a_member"])
    assert client.post(url, data={"low": "0.2", "csrf_token": csrf(client)}).status_code == 403


def test_company_admin_applies_a_line_yaml_in_the_page(client: TestClient, world: World, engine: Engine, data_dir: Path) -> None:  # fmt: skip
    text = example_path().read_text(encoding="utf-8").replace("line: demo", "line: pump-room")
    login(client, world.emails["a_admin"])
    assert "line.yaml" in client.get("/lines").text
    bad = client.post(
        "/lines/apply", data={"yaml_text": "line: x\nmachines: [{tags: [a]}]", "csrf_token": csrf(client)}
    )
    assert bad.status_code == 400 and "name" in bad.text
    bad = client.post("/lines/apply", data={"yaml_text": "line: [unclosed", "csrf_token": csrf(client)})
    assert bad.status_code == 400 and "YAML" in bad.text
    other = client.post(
        "/lines/apply", data={"yaml_text": text, "company_id": world.company_b, "csrf_token": csrf(client)}
    )  # noqa: E501
    assert other.status_code == 404  # not a company this admin may configure
    ok = client.post(
        "/lines/apply", data={"yaml_text": text, "csrf_token": csrf(client)}, follow_redirects=False
    )
    assert ok.status_code == 303
    with system_session(engine) as s:
        [line] = s.scalars(select(Line).where(Line.name == "pump-room")).all()
        assert line.company_id == world.company_a and len(line.machines[0].tags) == 8
        assert (service.line_dir(data_dir, line) / "line.yaml").exists()
        created = s.scalars(
            select(AuditLog).where(AuditLog.entity == "Line", AuditLog.action == "create")
        ).all()
    assert created and created[0].actor == world.emails["a_admin"]
    login(client, world.emails["a_member"])
    assert "line.yaml" not in client.get("/lines").text
    assert (
        client.post("/lines/apply", data={"yaml_text": text, "csrf_token": csrf(client)}).status_code == 403
    )


def test_stream_says_when_the_store_is_unreachable(client: TestClient, world: World, engine: Engine) -> None:
    cfg = load_line(example_path())
    cfg.line, cfg.store = "remote", {"kind": "postgres", "url": "postgresql://aion@127.0.0.1:1/nowhere"}
    with system_session(engine) as s:
        line_id = service.apply_config(s, world.company_a, cfg).id
    login(client, world.emails["a_member"])
    with client.stream("GET", f"/lines/{line_id}/stream?limit=2") as r:
        lines = list(r.iter_lines())
    assert lines.count("event: unavailable") == 2 and any("PostgreSQL" in ln for ln in lines)
    assert client.get(f"/lines/{line_id}/live").status_code == 200
