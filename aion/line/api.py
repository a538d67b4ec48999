"""JSON API of the line domain: lines, their tags, live values and alarms, acknowledgement."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from aion.accounts.policy import require
from aion.line import photos, policy, service, verdicts
from aion.line.errors import Backpressure, LineConfigError, LineError, StoreUnavailable
from aion.line.schemas import (
    CameraSpeedPublic,
    ComparisonPublic,
    LinePublic,
    LiveSnapshot,
    PhotoLabelIn,
    PhotoPublic,
    PhotosPage,
    StationSummaryPublic,
    TrialPublic,
)
from aion.web.deps import CurrentUser, SessionDep, verify_csrf
from aion.web.forms import pick_language

router = APIRouter(prefix="/api/lines", tags=["line"], dependencies=[Depends(verify_csrf)])


class AckIn(BaseModel):
    alarm_id: str


M = TypeVar("M", bound=BaseModel)


def _dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


async def _body(request: Request, model: type[M]) -> M:
    """The request's JSON body as ``model``; 422 with the fields' errors otherwise.

    Read after the line's ownership check, so that another company's line answers 404 first.
    """
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as e:
        raise RequestValidationError(e.errors(include_url=False, include_input=False)) from e


def _answer(request: Request, e: Exception, status: int) -> JSONResponse:
    """An error in the user's language (a platform error from its catalog, a line error from its
    "Korean / English" text); 503 says when to retry (a store that will come back)."""
    from aion.platform.errors import PlatformError

    lang = getattr(request.state, "lang", "ko")
    detail = e.localized(lang) if isinstance(e, PlatformError) else pick_language(str(e), lang)
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse({"detail": detail}, status, headers=headers)


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


@router.post("/{line_id}/alarms/ack", responses={422: {"description": "Body is not {alarm_id}"}})
async def ack(request: Request, session: SessionDep, user: CurrentUser, line_id: int) -> JSONResponse:
    """Acknowledge an alarm: body ``{"alarm_id": "..."}``; ``acknowledged`` false if it already was."""
    line = service.get_line(session, line_id)  # ownership before anything else: a 404 for others
    require(policy.can_acknowledge(user, line.company_id))
    body = await _body(request, AckIn)
    try:
        store = await run_in_threadpool(service.open_line_store, _dir(request), line)
        try:
            done = await run_in_threadpool(
                service.acknowledge, session, store, line, body.alarm_id, user.email
            )
        finally:
            store.close()
    except (StoreUnavailable, LineConfigError) as e:  # the line's store is unreachable: nothing changed
        return _answer(request, e, 503)
    return JSONResponse({"acknowledged": done})


@router.post("/{line_id}/ingest", status_code=202)
async def ingest(
    request: Request, session: SessionDep, user: CurrentUser, line_id: int, machine: str = ""
) -> JSONResponse:
    """For gateways (send an API token): JSON readings, durable when the answer is 202.

    Refused parts are listed with their reason and quarantined; 503 with Retry-After when full.
    """
    line = service.get_line(session, line_id)
    require(policy.can_ingest(user, line.company_id))
    body = await request.body()
    try:
        accepted, rejects = await run_in_threadpool(service.ingest, _dir(request), line, body, machine)
    except Backpressure as e:
        return _answer(request, e, 503)
    except LineError as e:
        return _answer(request, e, 400)
    refused = [{"reason": j.reason, "detail": j.detail} for j in rejects]
    return JSONResponse({"accepted": accepted, "rejected": refused}, 202 if accepted or not refused else 400)


@router.get("/{line_id}/photos", response_model=PhotosPage)
def station_photos(
    request: Request, session: SessionDep, user: CurrentUser, line_id: int,
    camera: str = "", ng: bool = False, before: str = "", limit: int = photos.PAGE,
) -> Any:  # fmt: skip
    """A camera's scored photos, newest first (``ng``: only NG ones; ``before``: the ``next`` of
    the previous page), with people's verdicts and the last 24 hours' summary."""
    line = service.get_line(session, line_id)
    folder = service.line_dir(_dir(request), line)
    cam = photos.camera_of(line, folder, camera)
    limit = max(1, min(int(limit), 500))
    try:
        with service.line_store(_dir(request), line) as store:
            view = verdicts.camera_view(session, store, line, cam.tag, ng, before, limit, folder)
    except (StoreUnavailable, LineConfigError) as e:
        return _answer(request, e, 503)
    return PhotosPage(
        camera=cam.tag,
        photos=[PhotoPublic.model_validate(p, from_attributes=True) for p in view.photos],
        next=view.photos[-1].key if len(view.photos) == limit else None,
        summary=StationSummaryPublic.model_validate(view.summary, from_attributes=True),
        speed=CameraSpeedPublic.model_validate(view.speed, from_attributes=True) if view.speed else None,
    )


@router.get("/{line_id}/photos/compare", response_model=ComparisonPublic)
def station_compare(
    request: Request, session: SessionDep, user: CurrentUser, line_id: int, version: int = 0, camera: str = ""
) -> Any:
    """A registered inspection model version (``version``: its id) scored on the camera's photos
    people judged, beside the station's calls on them (the newest 200; people's verdicts as truth).
    Every parameter is optional to the router, so that another company's line answers 404 first."""
    from aion.inspectionweb.errors import InspectionWebError
    from aion.line import compare as comparing
    from aion.platform.web import runtime

    line = service.get_line(session, line_id)
    cam = photos.camera_of(line, service.line_dir(_dir(request), line), camera)
    try:
        result = comparing.compare(session, runtime(request).storage.store, line, cam, version)
    except InspectionWebError as e:  # the version's file cannot be opened
        return _answer(request, e, 400)
    return ComparisonPublic.model_validate(result, from_attributes=True)


@router.get("/{line_id}/photos/trial", response_model=TrialPublic)
def station_trial(
    request: Request, session: SessionDep, user: CurrentUser, line_id: int, camera: str = ""
) -> Any:
    """The camera's model version on trial (404 when none): where it would have judged otherwise
    than the station, how people's verdicts rate both, and its speed on the line PC."""
    from aion.core.tenancy import NotFound
    from aion.line import trial as trials

    line = service.get_line(session, line_id)
    folder = service.line_dir(_dir(request), line)
    cam = photos.camera_of(line, folder, camera)
    view = trials.view(session, line, folder, cam.tag)
    if view is None:
        raise NotFound("ModelTrial", cam.tag)
    return TrialPublic.model_validate(view, from_attributes=True)


@router.post("/{line_id}/photos/label")
async def station_photo_label(
    request: Request, session: SessionDep, user: CurrentUser, line_id: int
) -> JSONResponse:
    """A person's verdict on a photo: body ``{"camera": "station.image", "key": "...", "label": "ok"}``."""
    line = service.get_line(session, line_id)
    require(policy.can_acknowledge(user, line.company_id))
    body = await _body(request, PhotoLabelIn)
    ts_us, seq = photos.parse_key(body.key)
    try:
        store = await run_in_threadpool(service.open_line_store, _dir(request), line)
        try:
            lab = await run_in_threadpool(
                verdicts.label_photo,
                session,
                line,
                store,
                body.camera,
                ts_us,
                seq,
                body.label,
                user.email,
                user.id,
            )
        finally:
            store.close()
    except (StoreUnavailable, LineConfigError) as e:
        return _answer(request, e, 503)
    except LineError as e:
        return _answer(request, e, 400)
    return JSONResponse({"key": body.key, "label": lab.label, "by": lab.author})
