"""A member of company A gets 404 for anything of company B: by page, API or download.

Every route that takes an id is listed here; a new route with an id that is not covered
fails ``test_every_id_route_is_covered``, so the proof keeps up with the app.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aion.web.routes import id_routes

from .conftest import csrf_of, login
from .factories import World


def _line_b(app, world: World) -> int:  # type: ignore[no-untyped-def]
    from aion.core.db import system_session
    from aion.line.demo import load_demo

    with system_session(app.state.engine) as s:  # idempotent: the same line on every call
        return load_demo(s, world.company_b).id


def _tag_b(app, world: World) -> int:  # type: ignore[no-untyped-def]
    from aion.core.db import system_session
    from aion.line.demo import load_demo

    with system_session(app.state.engine) as s:
        return load_demo(s, world.company_b).machines[0].tags[0].id


# param name -> key of company B's object in the world, or a function (app, world) -> its id
PARAM_OBJECTS: dict[str, Any] = {
    "company_id": "company",
    "user_id": "b_member",
    "line_id": _line_b,
    "tag_id": _tag_b,
}
# Routes with ids that are not company-owned (they act on the caller's own records).
OWN_RECORD_ROUTES = {"/account/tokens/{token_id}/revoke"}
# Route prefixes whose isolation a domain proves with its own objects (see the file named).
DOMAIN_TESTED = (
    "/datasets/",
    "/api/datasets/",
    "/jobs/",
    "/api/jobs/",
    "/models/",
    "/api/models/",
    "/api/uploads/",  # tests/platform/test_platform_isolation.py
    "/program/",  # tests/program/test_isolation.py
)


def _id_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(m, p) for m, p in id_routes(app) if not p.startswith(DOMAIN_TESTED)]


def _fill(path: str, world: World, app=None) -> str:  # type: ignore[no-untyped-def]
    def value(m: re.Match[str]) -> str:
        key = PARAM_OBJECTS[m.group(1)]
        if callable(key):
            return str(key(app, world))
        return str(world.company_b if key == "company" else world.users[key])

    return re.sub(r"{(\w+)}", value, path)


def test_every_id_route_is_covered(app) -> None:  # type: ignore[no-untyped-def]
    for _method, path in _id_routes(app):
        if path in OWN_RECORD_ROUTES:
            continue
        params = re.findall(r"{(\w+)}", path)
        missing = [p for p in params if p not in PARAM_OBJECTS]
        assert not missing, f"{path}: add {missing} to PARAM_OBJECTS so isolation is proven for it"


@pytest.mark.parametrize("who", ["a_member", "a_admin"])
def test_company_user_gets_404_for_other_company_everywhere(app, world: World, who: str) -> None:  # type: ignore[no-untyped-def]
    routes = [(m, p) for m, p in _id_routes(app) if p not in OWN_RECORD_ROUTES]
    assert len(routes) >= 8
    with TestClient(app) as client:
        login(client, world.emails[who])
        token = csrf_of(client)
        for method, path in routes:
            url = _fill(path, world, app)
            if method == "GET":
                r = client.get(url)
            elif method == "PATCH":
                r = client.patch(url, json={"name": "hijacked"})
            else:
                r = client.request(method, url, data={"csrf_token": token, "name": "hijacked"})
            assert r.status_code == 404, f"{method} {url} -> {r.status_code}"
            assert "베타화학" not in r.text and "member@beta.example" not in r.text
        # and their own company is reachable: the 404 is about ownership, not the route
        assert client.get(f"/companies/{world.company_a}").status_code == 200
        assert client.get(f"/api/companies/{world.company_a}").status_code == 200
        assert client.get(f"/companies/{world.company_a}/export.json").status_code == 200


def test_lists_show_only_own_company(client: TestClient, world: World) -> None:
    login(client, world.emails["a_admin"])
    assert [c["id"] for c in client.get("/api/companies").json()] == [world.company_a]
    emails = {u["email"] for u in client.get("/api/users").json()}
    assert emails == {"admin@alpha.example", "member@alpha.example"}
    page = client.get("/companies?q=").text
    assert "알파정밀" in page and "베타화학" not in page
    export = client.get(f"/companies/{world.company_a}/export.json").json()
    assert {u["email"] for u in export["users"]} == emails


def test_staff_see_both_companies(client: TestClient, world: World) -> None:
    login(client, world.emails["consultant"])
    assert {c["id"] for c in client.get("/api/companies").json()} == {world.company_a, world.company_b}
    assert client.get(f"/companies/{world.company_b}").status_code == 200


def test_evaluator_sees_no_company_records(client: TestClient, world: World) -> None:
    login(client, world.emails["evaluator"])
    assert client.get("/api/companies").json() == []
    assert client.get(f"/api/companies/{world.company_a}").status_code == 404


def test_member_cannot_edit_own_company_but_admin_can(app, world: World) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        login(c, world.emails["a_member"])
        assert c.patch(f"/api/companies/{world.company_a}", json={"industry": "x"}).status_code == 403
    with TestClient(app) as c:
        login(c, world.emails["a_admin"])
        r = c.patch(f"/api/companies/{world.company_a}", json={"industry": "금형"})
        assert r.status_code == 200 and r.json()["industry"] == "금형"
