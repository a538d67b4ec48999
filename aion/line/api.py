"""JSON API of the line domain: lines, their tags, live values and alarms, acknowledgement."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from aion.accounts.policy import require
from aion.line import policy, service
from aion.line.schemas import LinePublic, LiveSnapshot
from aion.web.deps import CurrentUser, SessionDep, verify_csrf

router = APIRouter(prefix="/api/lines", tags=["line"], dependencies=[Depends(verify_csrf)])


class AckIn(BaseModel):
    alarm_id: str


def _dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


@router.get("")
def list_lines(session: SessionDep, user: CurrentUser) -> list[LinePublic]:
    return [LinePublic.model_validate(ln) for ln in service.list_lines(session)]


@router.get("/{line_id}")
def get_line(session: SessionDep, user: CurrentUser, line_id: int) -> LinePublic:
    return LinePublic.model_validate(service.get_line(session, line_id))


@router.get("/{line_id}/live")
async def live(request: Request, session: SessionDep, user: CurrentUser, line_id: int) -> LiveSnapshot:
    line = service.get_line(session, line_id)
    store = await run_in_threadpool(service.open_line_store, _dir(request), line)
    try:
        running = service.is_running(_dir(request), line)
        return await run_in_threadpool(service.snapshot, store, line.key, service.tag_meta(line), running)
    finally:
        store.close()


@router.post("/{line_id}/alarms/ack")
def ack(
    request: Request, session: SessionDep, user: CurrentUser, line_id: int, body: AckIn
) -> dict[str, bool]:
    line = service.get_line(session, line_id)
    require(policy.can_acknowledge(user, line.company_id))
    store = service.open_line_store(_dir(request), line)
    try:
        return {"acknowledged": service.acknowledge(session, store, line, body.alarm_id, user.email)}
    finally:
        store.close()
