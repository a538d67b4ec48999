"""Route introspection: every (method, path) the app serves, including included routers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute


def iter_api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """All APIRoutes, walking into included routers (FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from iter_api_routes(original.routes)


def id_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route whose path takes a parameter."""
    out = []
    for route in iter_api_routes(app.routes):
        if "{" in route.path:
            for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
                out.append((method, route.path))
    return out
