"""Pages of the inspection station's photos: each camera's scored photos with their heat maps, a
person's OK/NG verdict on each, and the labelled photos added to an inspection data set
(``photos.py`` holds the rules; this is the thin web layer over it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from aion.accounts.policy import require
from aion.core.tenancy import NotFound, get_scoped
from aion.line import photos, policy, service, verdicts
from aion.line.errors import LineError, StoreUnavailable
from aion.line.models import Line, Machine
from aion.platform.models import Dataset, DatasetKind, ModelVersion
from aion.web.deps import CurrentUser, SessionDep, verify_csrf
from aion.web.forms import pick_language, redirect
from aion.web.templating import render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

KINDS = ("photo", "heatmap")


def _data_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


def _unavailable(request: Request, e: LineError) -> Response:
    return render(request, "error.html", 503, status=503, message=pick_language(str(e), request.state.lang))


def _inspection_datasets(session: SessionDep, company_id: int) -> list[Dataset]:
    stmt = select(Dataset).where(
        Dataset.company_id == company_id, Dataset.kind == DatasetKind.INSPECTION_IMAGES
    )
    return list(session.scalars(stmt.order_by(Dataset.name)))


@router.get("/lines/{line_id}/photos")
def photos_page(
    request: Request, session: SessionDep, user: CurrentUser, line_id: int,
    camera: str = "", ng: int = 0, before: str = "", compare: int = 0,
) -> Response:  # fmt: skip
    """A camera's photos, newest first (``ng=1``: only NG ones), a page at a time; ``compare``: a
    registered inspection model version scored on the photos people judged, beside the station."""
    from aion.inspectionweb.errors import InspectionWebError
    from aion.line import compare as comparing
    from aion.line import trial as trials
    from aion.platform import policy as platform_policy
    from aion.platform.web import runtime

    line = service.get_line(session, line_id)
    folder = service.line_dir(_data_dir(request), line)
    cams = photos.cameras(line, folder)
    cam = next((c for c in cams if c.tag == camera), cams[0] if cams else None)
    view: verdicts.CameraView | None = None
    error = ""
    if cam is not None:
        try:
            with service.line_store(_data_dir(request), line) as store:
                view = verdicts.camera_view(
                    session, store, line, cam.tag, bool(ng), before, line_folder=folder
                )
        except LineError as e:  # the store is unreachable: say so on the page
            error = pick_language(str(e), request.state.lang)
    page = view.photos if view else []
    pending = verdicts.pending(session, line)
    comparison: comparing.Comparison | None = None
    judged = comparing.labelled(session, line, cam.tag) if cam is not None else 0
    may_deploy = platform_policy.can_deploy(user, line.company_id)
    if cam is not None and compare:  # needs the verdicts and the files, not the store
        try:
            comparison = comparing.compare(session, runtime(request).storage.store, line, cam, compare)
        except InspectionWebError as e:  # the version's file cannot be opened
            error = e.localized(request.state.lang)
    here = f"/lines/{line.id}/photos?" + urlencode(
        {
            "camera": cam.tag if cam else "",
            **({"ng": 1} if ng else {}),
            **({"before": before} if before else {}),
        }
    )
    return render(
        request,
        "line/photos.html",
        line=line,
        cameras=cams,
        camera=cam,
        only_ng=bool(ng),
        photos=page,
        more=len(page) == photos.PAGE,
        pending=pending,
        can_label=policy.can_acknowledge(user, line.company_id),
        can_send=platform_policy.can_edit(user, line.company_id),
        datasets=_inspection_datasets(session, line.company_id),
        error=error,
        here=here,
        day=view.summary if view else None,
        speed=view.speed if view else None,
        has_model=cam is not None and photos.has_model(cam, folder),
        candidates=comparing.candidates(session, line.company_id) if judged or may_deploy else [],
        labelled=judged,
        comparison=comparison,
        compared=compare,
        trial=trials.view(session, line, folder, cam.tag) if cam is not None else None,
        can_deploy=may_deploy,
    )


@router.get("/lines/{line_id}/photos/file")
def photo_file(
    request: Request, session: SessionDep, user: CurrentUser, line_id: int,
    camera: str = "", key: str = "", kind: str = "photo", size: int = 1280,
) -> Response:  # fmt: skip
    """A stored photo, or its heat map, as a browser-ready preview (JPEG, longer side ``size``)."""
    from aion.platform.errors import PlatformError
    from aion.platform.previews import make_preview

    line = service.get_line(session, line_id)
    if kind not in KINDS:
        raise NotFound("file kind", kind)
    cam = photos.camera_of(line, service.line_dir(_data_dir(request), line), camera)
    ts_us, seq = photos.parse_key(key)
    try:
        with service.line_store(_data_dir(request), line) as store:
            shot = photos.stored(store, camera, ts_us, seq)
    except LineError as e:
        return _unavailable(request, e)
    path = photos.photo_file(cam, shot) if kind == "photo" else photos.heatmap_file(cam, shot)
    try:
        body = make_preview(path.read_bytes(), path.name, size)
    except (OSError, PlatformError) as e:  # unreadable (the torn photo the station counted NG)
        raise NotFound("photo", shot.ref) from e
    return Response(body, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/lines/{line_id}/photos/label")
def label_photo(
    request: Request, session: SessionDep, user: CurrentUser, line_id: int,
    camera: Annotated[str, Form()] = "", key: Annotated[str, Form()] = "", label: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    """A person's OK/NG verdict on one photo."""
    line = service.get_line(session, line_id)
    require(policy.can_acknowledge(user, line.company_id))
    ts_us, seq = photos.parse_key(key)
    try:
        with service.line_store(_data_dir(request), line) as store:
            verdicts.label_photo(session, line, store, camera, ts_us, seq, label, user.email, user.id)
    except StoreUnavailable as e:  # the store is down: say so, the verdict was not taken
        return _unavailable(request, e)
    except LineError as e:
        return render(
            request, "error.html", 400, status=400, message=pick_language(str(e), request.state.lang)
        )
    if request.headers.get("x-requested-with") == "fetch":
        return Response(status_code=204)
    url = back if back.startswith(f"/lines/{line.id}/photos") else f"/lines/{line.id}/photos"
    return redirect(url, "saved")


@router.post("/lines/{line_id}/photos/dataset")
def send_to_dataset(
    request: Request, session: SessionDep, user: CurrentUser, line_id: int,
    dataset_id: Annotated[int, Form()] = 0,
) -> Response:  # fmt: skip
    """Add the labelled photos not yet in a data set to an inspection data set, as a new version."""
    from aion.platform import datasets
    from aion.platform import policy as platform_policy
    from aion.platform.errors import PlatformError
    from aion.platform.web import runtime

    line = service.get_line(session, line_id)
    require(platform_policy.can_edit(user, line.company_id))
    dataset = datasets.get_dataset(session, dataset_id)
    rt = runtime(request)
    try:
        version, _missing = verdicts.to_dataset(
            session,
            rt.storage.store,
            rt.storage.tmp,
            line,
            service.line_dir(_data_dir(request), line),
            dataset,
        )
    except LineError as e:
        return render(
            request, "error.html", 400, status=400, message=pick_language(str(e), request.state.lang)
        )
    except PlatformError as e:
        return render(request, "error.html", 400, status=400, message=e.localized(request.state.lang))
    return redirect(f"/datasets/{dataset.id}/versions/{version.id}", "created")


def _machine(session: SessionDep, line_id: int, camera: str) -> tuple[Line, Machine]:
    """The line (of the user's company) and the machine whose readings the camera's photos are."""
    line = service.get_line(session, line_id)
    name = camera.removesuffix(".image")
    machine = next((m for m in line.machines if m.name == name), None)
    if machine is None:
        raise NotFound("Machine", name)
    return line, machine


async def _trial_action(request: Request, session: SessionDep, user: CurrentUser, line_id: int, action: str) -> Response:  # fmt: skip
    """Start, end or adopt a camera's model on trial (company admins and staff, as deploying)."""
    from starlette.concurrency import run_in_threadpool

    from aion.platform import deploy as dep
    from aion.platform import modelregistry as reg
    from aion.platform import policy as platform_policy
    from aion.platform.errors import PlatformError
    from aion.platform.web import runtime

    form = await request.form()
    camera = str(form.get("camera", ""))
    line, machine = _machine(session, line_id, camera)
    require(platform_policy.can_deploy(user, line.company_id))
    store, data = runtime(request).storage.store, _data_dir(request)
    try:
        if action == "start":
            version_id = str(form.get("version_id", ""))
            if not version_id.isdigit():
                raise NotFound("ModelVersion", version_id)
            version = get_scoped(session, ModelVersion, int(version_id))
            model = reg.get_model(session, version.model_id)
            await run_in_threadpool(dep.start_trial, session, store, data, model, version, machine.id)
        elif action == "end":
            await run_in_threadpool(dep.end_trial, session, store, data, machine.id)
        else:
            await run_in_threadpool(dep.adopt_trial, session, store, data, machine.id)
    except PlatformError as e:
        return render(request, "error.html", 400, status=400, message=e.localized(request.state.lang))
    url = f"/lines/{line.id}/photos?" + urlencode({"camera": camera})
    return redirect(url, {"start": "trial-started", "end": "trial-ended", "adopt": "trial-adopted"}[action])


@router.post("/lines/{line_id}/photos/trial")
async def start_trial(request: Request, session: SessionDep, user: CurrentUser, line_id: int) -> Response:
    """Put a registered inspection model version on trial beside the camera's model."""
    return await _trial_action(request, session, user, line_id, "start")


@router.post("/lines/{line_id}/photos/trial/end")
async def end_trial(request: Request, session: SessionDep, user: CurrentUser, line_id: int) -> Response:
    """Stop the camera's trial; the station's records of it stay."""
    return await _trial_action(request, session, user, line_id, "end")


@router.post("/lines/{line_id}/photos/trial/adopt")
async def adopt_trial(request: Request, session: SessionDep, user: CurrentUser, line_id: int) -> Response:
    """Promote the version on trial to production and deploy it to the machine; the trial ends."""
    return await _trial_action(request, session, user, line_id, "adopt")
