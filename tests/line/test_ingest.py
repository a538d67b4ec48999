"""HTTP ingest for gateways, end to end across processes' boundary: the web app takes a post
with an API token, answers 202 once it is durable in the line's inbox, refuses bad parts with
their reason; the line's pipeline (built from the runtime line.yaml) stores and scores it once,
and quarantines what was refused. Another company's token gets 404."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from aion.accounts import service as accounts
from aion.accounts.models import User
from aion.core.db import system_session
from aion.line import service
from aion.line.config import load_line, parse_line
from aion.line.models import Line
from aion.line.runtime import build_pipeline
from aion.settings import Settings
from aion.web.app import create_app

from .factories import World, make_world

LINE = {
    "line": "press",
    "sources": [{"name": "gateway", "kind": "http"}],
    "machines": [{"name": "press1", "tags": [{"name": "force", "source": "gateway", "high": 100}]}],
}


def token_for(engine: Engine, user_id: int) -> str:
    with system_session(engine) as s:
        user = s.get(User, user_id)
        assert user is not None
        return accounts.create_token(s, user, "gateway")[0]


def test_gateway_posts_are_durable_then_stored_once_and_isolated(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    world: World = make_world(engine)
    data = tmp_path / "data"
    with system_session(engine, actor="tests") as s:
        line = service.apply_config(s, world.company_a, parse_line(LINE))
        runtime = service.write_runtime(data, line)
        line_id = line.id
    app = create_app(Settings(env="test", data_dir=data, database_url=db_url, secret_key="s" * 48), engine)
    url = f"/api/lines/{line_id}/ingest?machine=press1"
    with TestClient(app) as client:
        other = {"Authorization": f"Bearer {token_for(engine, world.users['b_member'])}"}
        assert client.post(url, content=b'{"force": 1}', headers=other).status_code == 404
        auth = {"Authorization": f"Bearer {token_for(engine, world.users['a_member'])}"}
        t0 = time.time()
        bodies = [{"ts": t0 + i, "seq": i, "force": 50.0 + i} for i in range(3)] + [
            {"ts": t0 + 9, "force": 150}
        ]
        ok = client.post(url, content=json.dumps(bodies), headers=auth)
        assert ok.status_code == 202 and ok.json() == {"accepted": 4, "rejected": []}
        mixed = client.post(url, content=b'{"force": "high", "speed": 3}', headers=auth)
        assert mixed.status_code == 400
        assert sorted(r["reason"] for r in mixed.json()["rejected"]) == ["unknown_tag", "wrong_type"]
        assert client.post(url, content=b"{oops", headers=auth).json()["rejected"][0]["reason"] == "bad_json"
        no_http = parse_line({"line": "other", "machines": [{"name": "m", "tags": ["x"]}]})
        with system_session(engine) as s:
            bare = service.apply_config(s, world.company_a, no_http)
            bare_id = bare.id
        r = client.post(f"/api/lines/{bare_id}/ingest", content=b'{"x": 1}', headers=auth)
        assert r.status_code == 400 and "http" in r.json()["detail"]

    cfg = load_line(runtime)  # what `aion line run` runs
    for attempt in range(2):  # the second pipeline, as after a restart, finds nothing left to store
        pipe = build_pipeline(cfg, data / "line")
        for _ in range(5):
            pipe.step()
        stored = pipe.store.count()
        pipe.close()
        assert stored == 4, attempt
    pipe = build_pipeline(cfg, data / "line")
    try:
        assert pipe.store.quarantine_counts() == {"unknown_tag": 1, "wrong_type": 1, "bad_json": 1}
        assert [a.rule for a in pipe.store.alarms()] == ["high"]
    finally:
        pipe.close()
    with system_session(engine) as s:
        assert s.get(Line, line_id) is not None
