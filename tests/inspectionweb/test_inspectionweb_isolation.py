"""Another company's member gets 404 on every inspection page with an id, heat-map images included."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from aion.inspectionweb import web
from aion.web.routes import iter_api_routes
from tests.foundation.factories import World
from tests.inspectionweb.tools import register_model
from tests.platform.helpers import png
from tests.platform.webtools import client_for


def inspection_routes() -> list[tuple[str, str]]:
    return [
        (m, r.path)
        for r in iter_api_routes(web.router.routes)
        if "{" in r.path
        for m in sorted((r.methods or set()) - {"HEAD", "OPTIONS"})
    ]


def test_every_inspection_route_with_an_id_is_404_for_another_company(
    app: Any, world: World, engine: Engine, tmp_path: Path, model_file: Path
) -> None:
    b = register_model(app, world, engine, tmp_path, model_file, "b_member", "베타 비밀 모델")
    a = register_model(app, world, engine, tmp_path, model_file, "a_member", "알파 모델")
    routes = inspection_routes()
    assert len(routes) == 5  # report, heat map, threshold, try (page and upload)

    def fill(path: str, reg: Any, item_id: int) -> str:
        ids = {"model_id": reg.model_id, "version_id": reg.version_id, "item_id": item_id}
        return re.sub(r"{(\w+)}", lambda m: str(ids[m.group(1)]), path)

    def call(c: Any, method: str, url: str) -> Any:
        if method == "GET":
            return c.get(url)
        data = {"csrf_token": c.cookies["aion_csrf"], "threshold": "0.5"}
        return c.post(url, data=data, files={"photo": ("p.png", png(3), "image/png")})

    for who in ("a_member", "a_admin"):
        c = client_for(app, world, who)
        for method, path in routes:
            r = call(c, method, fill(path, b, b.items[0]["id"]))
            assert r.status_code == 404, f"{who} {method} {path} -> {r.status_code}"
            assert "베타" not in r.text
        # A's own model with an image of B's data set: still 404 (the item is not the model's)
        r = c.get(fill(BASE_HEATMAP, a, b.items[0]["id"]))
        assert r.status_code == 404
        assert c.get(fill(BASE_HEATMAP, a, a.items[0]["id"])).status_code == 200
        c.__exit__(None, None, None)
    # B's own member reaches every one of them: the 404 is about ownership
    c = client_for(app, world, "b_member")
    for method, path in routes:
        r = call(c, method, fill(path, b, b.items[0]["id"]))
        assert r.status_code == 200, f"b_member {method} {path} -> {r.status_code} {r.text[:300]}"
    c.__exit__(None, None, None)


BASE_HEATMAP = web.BASE + "/items/{item_id}/heatmap.png"
