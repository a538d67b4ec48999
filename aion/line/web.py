"""Pages of the line domain: lines, a line's machines and tags (edit), the live dashboard (SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from aion.accounts.policy import require
from aion.core.tenancy import NotFound
from aion.line import demo, photos, policy, service
from aion.line.config import parse_line
from aion.line.errors import LineConfigError, LineError
from aion.line.schemas import TagUpdate
from aion.line.store import open_store
from aion.web.deps import CurrentUser, SessionDep, verify_csrf
from aion.web.forms import pick_language, redirect
from aion.web.templating import add_template_dir, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False, lifespan=demo.lifespan)
add_template_dir(Path(__file__).resolve().parent / "templates")


def data_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


def _companies_for(session: SessionDep, user: CurrentUser) -> list[Any]:
    """Companies the user may configure lines for (their own, or any for program admins)."""
    from aion.accounts.service import list_companies

    return [c for c in list_companies(session) if policy.can_edit(user, c.id)]


def _lines(
    request: Request, session: SessionDep, user: CurrentUser, status: int = 200,
    errors: list[str] | None = None, yaml_text: str = "",
) -> Response:  # fmt: skip
    lines = service.list_lines(session)
    running = {ln.id: service.is_running(data_dir(request), ln) for ln in lines}
    return render(request, "line/lines.html", status_code=status, lines=lines, running=running,
                  companies=_companies_for(session, user), errors=errors or [], yaml_text=yaml_text)  # fmt: skip


@router.get("/lines")
def lines_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return _lines(request, session, user)


@router.post("/lines/apply")
def apply_yaml(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    yaml_text: Annotated[str, Form()] = "",
    company_id: Annotated[int, Form()] = 0,
) -> Response:
    """Create or update a line from a pasted line.yaml (what ``aion line apply`` does)."""
    companies = {c.id: c for c in _companies_for(session, user)}
    require(bool(companies))
    if not company_id:
        own = user.company_id
        company_id = own if own is not None and own in companies else next(iter(companies))
    company = companies.get(company_id)
    if company is None:  # not one the user may configure: the same answer as a missing one
        raise NotFound("Company", company_id)
    try:
        cfg = parse_line(yaml.safe_load(yaml_text))
    except (LineConfigError, yaml.YAMLError) as e:
        msg = pick_language(str(e), request.state.lang) if isinstance(e, LineConfigError) else f"YAML: {e}"
        return _lines(request, session, user, 400, [msg], yaml_text)
    line = service.apply_config(session, company.id, cfg)
    service.write_runtime(data_dir(request), line)
    return redirect(f"/lines/{line.id}", "saved")


def _detail(request: Request, session: SessionDep, user: CurrentUser, line_id: int, status: int = 200,
            errors: dict[int, list[str]] | None = None) -> Response:  # fmt: skip
    line = service.get_line(session, line_id)
    return render(
        request,
        "line/detail.html",
        status_code=status,
        line=line,
        can_edit=policy.can_edit(user, line.company_id),
        running=service.is_running(data_dir(request), line),
        errors=errors or {},
    )


@router.get("/lines/{line_id}")
def line_page(request: Request, session: SessionDep, user: CurrentUser, line_id: int) -> Response:
    return _detail(request, session, user, line_id)


def _opt(raw: str) -> float | None:
    raw = raw.strip()
    return float(raw) if raw else None


@router.post("/lines/{line_id}/tags/{tag_id}")
def tag_update(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    line_id: int,
    tag_id: int,
    unit: Annotated[str, Form()] = "",
    low: Annotated[str, Form()] = "",
    high: Annotated[str, Form()] = "",
    rate: Annotated[str, Form()] = "",
    deadband: Annotated[str, Form()] = "",
) -> Response:
    line = service.get_line(session, line_id)
    tag = service.get_tag(session, line, tag_id)
    require(policy.can_edit(user, line.company_id))
    try:
        data = TagUpdate(unit=unit.strip(), low=_opt(low), high=_opt(high), rate=_opt(rate),
                         deadband=_opt(deadband) or 0.0)  # fmt: skip
    except (ValueError, ValidationError) as e:
        msgs = (
            [str(err.get("msg", "")).removeprefix("Value error, ") for err in e.errors()]
            if isinstance(e, ValidationError)
            else ["숫자를 입력하세요 / Enter a number"]
        )
        lang = request.state.lang
        return _detail(request, session, user, line_id, 400, {tag.id: [pick_language(m, lang) for m in msgs]})
    service.update_tag(session, data_dir(request), tag, data)
    return redirect(f"/lines/{line.id}", "saved")


@router.post("/lines/{line_id}/interlock")
def interlock(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    line_id: int,
    enabled: Annotated[str, Form()] = "",
) -> Response:
    line = service.get_line(session, line_id)
    require(policy.can_edit(user, line.company_id))
    service.set_interlock(session, data_dir(request), line, enabled == "1", user.email)
    return redirect(f"/lines/{line.id}", "saved")


@router.get("/lines/{line_id}/live")
def live_page(request: Request, session: SessionDep, user: CurrentUser, line_id: int) -> Response:
    line = service.get_line(session, line_id)
    return render(
        request,
        "line/live.html",
        line=line,
        meta=service.tag_meta(line),
        can_ack=policy.can_acknowledge(user, line.company_id),
        photo_tags=[c.tag for c in photos.cameras(line, service.line_dir(data_dir(request), line))],
    )


@router.post("/lines/{line_id}/alarms/ack")
def alarm_ack(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    line_id: int,
    alarm_id: Annotated[str, Form()] = "",
) -> Response:
    line = service.get_line(session, line_id)
    require(policy.can_acknowledge(user, line.company_id))
    try:
        store = service.open_line_store(data_dir(request), line)
        try:
            service.acknowledge(session, store, line, alarm_id, user.email)
        finally:
            store.close()
    except LineError as e:  # the store is unreachable: say so, lose nothing
        return render(
            request, "error.html", 503, status=503, message=pick_language(str(e), request.state.lang)
        )
    if request.headers.get("x-requested-with") == "fetch":
        return Response(status_code=204)
    return redirect(f"/lines/{line.id}/live")


async def snapshots(
    request: Request, opts: dict[str, Any], folder: Path, key: str, meta: dict[str, Any], limit: int,
    interval: float = 1.0,
) -> AsyncIterator[str]:  # fmt: skip
    """SSE frames: the first carries the recent trend of every tag, the next ones the new values."""
    store = None
    try:
        first = True
        n = 0
        while True:
            running = await run_in_threadpool(service.state_fresh, folder)
            try:
                if store is None:
                    store = await run_in_threadpool(open_store, opts, folder)
                snap = await run_in_threadpool(service.snapshot, store, key, meta, running, first)
            except LineError as e:  # the store is down (PostgreSQL away): say so, keep the stream
                yield f"event: unavailable\ndata: {json.dumps(str(e))}\n\n"
            else:
                yield f"event: snapshot\ndata: {snap.model_dump_json()}\n\n"
                first = False
            n += 1
            if (limit and n >= limit) or await request.is_disconnected():
                return
            await asyncio.sleep(interval)
    finally:
        if store is not None:
            await run_in_threadpool(store.close)


@router.get("/lines/{line_id}/stream")
def live_stream(
    request: Request, session: SessionDep, user: CurrentUser, line_id: int, limit: int = 0
) -> Response:
    """Server-sent events: one ``snapshot`` per second (``limit`` > 0 ends after that many)."""
    line = service.get_line(session, line_id)
    frames = snapshots(
        request,
        service.to_document(line)["store"],
        service.line_dir(data_dir(request), line),
        line.key,
        service.tag_meta(line),
        max(0, limit),
    )
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
