"""The live line page in a real browser (Debian's chromium via Playwright) against the real server,
with the real pipeline writing into the line's store: values update by themselves, an alarm
appears, a shop-floor member acknowledges it with the keyboard, and the acknowledgement is audited."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from aion.core.audit import AuditLog
from aion.core.db import system_session
from aion.line import service
from aion.line.config import example_path, load_line
from aion.line.connectors.ingest import IngestConnector
from aion.line.models import Line
from aion.line.runtime import build_pipeline
from aion.settings import Settings
from aion.web.app import create_app
from tests.browser import BROWSER, chromium_page, serving

from .factories import PASSWORD, World, make_world

pytestmark = BROWSER


@pytest.fixture
def live_line(
    tmp_path: Path, engine: Engine, db_url: str
) -> Iterator[tuple[str, World, int, IngestConnector]]:
    world = make_world(engine)
    data = tmp_path / "data"
    with system_session(engine, actor="tests") as s:
        line = service.apply_config(s, world.company_a, load_line(example_path()))
        service.write_runtime(data, line)
        cfg = service.to_config(line)
        line_id = line.id
    cfg.sources = []
    pipeline = build_pipeline(cfg, data / "line")  # the real pipeline of the line, fed over HTTP ingest
    ingest = IngestConnector("gateway", known_tags=list(cfg.tags))
    pipeline.connectors = [ingest]
    stop = threading.Event()
    runner = threading.Thread(target=pipeline.run, args=(stop,), daemon=True)
    runner.start()
    settings = Settings(env="test", data_dir=data, database_url=db_url, secret_key="k" * 48)
    with serving(create_app(settings, engine)) as base:
        yield base, world, line_id, ingest
    stop.set()
    runner.join(10)
    pipeline.close()


def send(ingest: IngestConnector, **values: float) -> None:
    r = ingest.submit(json.dumps({"machine": "pump1", "ts": time.time(), "values": values}), wait=True)
    assert r.durable and not r.rejects


def test_live_page_updates_values_and_an_alarm_is_acknowledged(
    live_line: tuple[str, World, int, IngestConnector], engine: Engine, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base, world, line_id, ingest = live_line
    send(ingest, pressure=0.25, temperature=88.5)
    with chromium_page("ko-KR", viewport={"width": 1600, "height": 900}) as page:
        page.goto(f"{base}/login?next=/lines/{line_id}/live")
        page.get_by_label("이메일").fill(world.emails["a_member"])
        page.get_by_label("비밀번호").fill(PASSWORD)
        page.get_by_label("비밀번호").press("Enter")
        expect(page).to_have_url(f"{base}/lines/{line_id}/live")
        tile = page.locator('.tile[data-tag="pump1.pressure"] .v')
        expect(tile).to_have_text("0.250", timeout=10_000)
        expect(page.locator("#conn")).to_have_text("실시간", timeout=10_000)

        send(ingest, pressure=0.21, temperature=89.0)  # a new value arrives by itself (SSE)
        expect(tile).to_have_text("0.210", timeout=10_000)
        expect(page.locator('.tile[data-tag="pump1.temperature"] .v')).to_have_text("89.000")
        expect(page.locator("#alarms tbody")).to_contain_text("경보 없음")

        send(ingest, pressure=0.05)  # cavitation: below the low limit 0.12
        row = page.locator("#alarms tbody tr.raised")
        expect(row).to_contain_text("pump1.pressure", timeout=10_000)
        expect(page.locator('.tile[data-tag="pump1.pressure"]')).to_have_class("tile alarm")
        page.screenshot(path=str(tmp_path / "live-alarm.png"))

        button = row.get_by_role("button", name="확인")
        button.focus()
        page.keyboard.press("Enter")  # keyboard only, as on a shop-floor panel
        acked = page.locator("#alarms tbody tr.acknowledged")
        expect(acked).to_contain_text(world.emails["a_member"], timeout=10_000)
        expect(acked.get_by_role("button")).to_have_count(0)
    with system_session(engine) as s:
        line = s.get(Line, line_id)
        assert line is not None
        audits = list(s.scalars(select(AuditLog).where(AuditLog.action == "line_alarm_ack")))
    assert len(audits) == 1 and audits[0].actor == world.emails["a_member"]
