"""Another company's member gets 404 on every process route with an id (page, JSON, training)."""

from __future__ import annotations

import re
from typing import Any

from aion.web.routes import id_routes
from tests.foundation.factories import World
from tests.platform.webtools import client_for
from tests.process.flow import create_sensor_dataset, train_through_web


def process_routes(app: Any) -> list[tuple[str, str]]:
    return [
        (m, p)
        for m, p in id_routes(app)
        if p.startswith(("/datasets/", "/models/")) and ("/process" in p or "/alarms" in p)
    ]


def test_every_process_route_with_an_id_is_404_for_another_company(app: Any, world: World) -> None:
    b = client_for(app, world, "b_member")
    ds_id = create_sensor_dataset(b, "베타 비밀 펌프")
    outcome = train_through_web(b, ds_id, model_name="베타 비밀 모델")
    ids = {"dataset_id": ds_id, "model_id": outcome["model_id"], "version_id": outcome["model_version_id"]}
    routes = process_routes(app)
    assert len(routes) >= 4, routes
    urls = [(m, re.sub(r"{(\w+)}", lambda g: str(ids[g.group(1)]), p)) for m, p in routes]
    for method, url in urls:  # B's own member reaches them: the 404 is about ownership
        if method == "GET":
            assert b.get(url).status_code == 200, url
    b.__exit__(None, None, None)
    for who in ("a_member", "a_admin"):
        c = client_for(app, world, who)
        for method, url in urls:
            if method == "GET":
                r = c.get(url + "?target=0.05")
            else:
                r = c.post(
                    url, data={"csrf_token": c.cookies["aion_csrf"], "normal_start": "0", "normal_end": "400"}
                )
            assert r.status_code == 404, f"{who} {method} {url} -> {r.status_code}"
            assert "베타" not in r.text, f"{method} {url} leaks company B's names"
        listing = c.get("/process")
        assert listing.status_code == 200 and "베타" not in listing.text
        c.__exit__(None, None, None)
