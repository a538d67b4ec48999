"""Process monitoring pages: sensor data sets, the normal period on a chart, training, alarms.

Routes with ids live under the platform's ``/datasets/{id}`` and ``/models/{id}`` paths (the
process views of a sensor data set and of a process model version).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from aion.accounts.models import User
from aion.platform import jobs as job_service
from aion.platform import policy
from aion.platform.errors import PlatformError
from aion.platform.runtime import runtime_for
from aion.platform.storage.blobstore import BlobStore
from aion.process import kind as process_kind  # registers the train_process job kind
from aion.process import service
from aion.process.errors import ProcessWebError
from aion.web.deps import CurrentUser, SessionDep, verify_csrf
from aion.web.forms import redirect
from aion.web.templating import add_template_dir, render

STATIC = Path(__file__).resolve().parent / "static"
#: positions of the false-alarm target slider (share of normal rows allowed above the limit)
TARGETS = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)

add_template_dir(Path(__file__).resolve().parent / "templates")
router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _store(request: Request) -> BlobStore:
    return runtime_for(request.app).storage.store


@router.get("/process/static/process.js")
def process_js() -> Response:
    return FileResponse(STATIC / "process.js", media_type="text/javascript")


@router.get("/process/static/process.css")
def process_css() -> Response:
    return FileResponse(STATIC / "process.css", media_type="text/css")


@router.get("/process")
def index(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    models = service.process_models(session)
    return render(
        request,
        "process/index.html",
        datasets=service.sensor_datasets(session),
        models=models,
        versions=service.model_versions(session, models),
    )


def _dataset_page(
    request: Request,
    session: Any,
    user: User,
    dataset_id: int,
    item: int = 0,
    status: int = 200,
    errors: list[str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    try:
        view = service.dataset_view(session, _store(request), dataset_id, item)
    except ProcessWebError as e:
        from aion.platform import datasets as ds_service

        dataset = ds_service.get_dataset(session, dataset_id)  # 404 first for another company
        return render(
            request,
            "process/dataset.html",
            400,
            view=None,
            dataset=dataset,
            errors=[e.localized(request.state.lang)],
            values={},
            models=[],
            versions={},
            jobs=[],
            can_edit=False,
            targets=TARGETS,
        )
    models = service.process_models(session, view.dataset.id)
    return render(
        request,
        "process/dataset.html",
        status,
        view=view,
        dataset=view.dataset,
        errors=errors or [],
        values=values or {},
        models=models,
        versions=service.model_versions(session, models),
        jobs=service.training_jobs(session, view.dataset.id),
        can_edit=policy.can_edit(user, view.dataset.company_id),
        targets=TARGETS,
    )


@router.get("/datasets/{dataset_id}/process")
async def dataset_page(
    request: Request, session: SessionDep, user: CurrentUser, dataset_id: int, item: int = 0
) -> Response:
    return await run_in_threadpool(_dataset_page, request, session, user, dataset_id, item)


@router.post("/datasets/{dataset_id}/process/train")
async def train(request: Request, session: SessionDep, user: CurrentUser, dataset_id: int) -> Response:
    from aion.platform import datasets as ds_service

    dataset = ds_service.get_dataset(session, dataset_id)
    policy.require(policy.can_edit(user, dataset.company_id))
    form = await request.form()
    keys = ("item_id", "normal_start", "normal_end", "target_far", "model_name")
    values = {k: str(form.get(k, "")).strip() for k in keys}
    version = ds_service.latest_version(session, dataset.id)
    options: dict[str, Any] = dict(values)
    if values["target_far"]:
        try:
            options["target_far"] = float(values["target_far"]) / 100.0  # the form asks for percent
        except ValueError:
            options["target_far"] = "x"
    try:
        if version is None:
            raise ProcessWebError("Upload a sensor file first.")
        await run_in_threadpool(
            job_service.submit_job,
            session,
            runtime_for(request.app),
            process_kind.KIND,
            dataset.id,
            version.id,
            options,
        )
    except PlatformError as e:
        item = int(values["item_id"]) if values["item_id"].isdigit() else 0
        return await run_in_threadpool(
            _dataset_page,
            request,
            session,
            user,
            dataset.id,
            item,
            400,
            [e.localized(request.state.lang)],
            values,
        )
    return redirect(f"/datasets/{dataset.id}/process", "saved")


def _target(value: str, pos: str = "") -> float | None:
    """The wanted target: a slider position (``pos``) wins over ``target``; None keeps the trained one."""
    if pos.isdigit() and int(pos) < len(TARGETS):
        return TARGETS[int(pos)]
    if not value:
        return None
    return process_kind.target_option(value)


@router.get("/models/{model_id}/versions/{version_id}/alarms")
async def alarms_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    model_id: int,
    version_id: int,
    target: str = "",
    pos: str = "",
) -> Response:
    errors: list[str] = []
    try:
        wanted = _target(target, pos)
    except ProcessWebError as e:
        errors, wanted = [e.localized(request.state.lang)], None
    view = await run_in_threadpool(service.alarm_view, session, _store(request), model_id, version_id, wanted)
    position = min(range(len(TARGETS)), key=lambda i: abs(TARGETS[i] - view.policy.target_far))
    return render(
        request,
        "process/alarms.html",
        400 if errors else 200,
        view=view,
        errors=errors,
        targets=TARGETS,
        position=position,
    )


@router.get("/models/{model_id}/versions/{version_id}/alarms.json")
async def alarms_json(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, version_id: int, target: str = ""
) -> Response:
    try:
        wanted = _target(target)
    except ProcessWebError as e:
        return JSONResponse({"detail": e.localized(request.state.lang)}, status_code=400)
    view = await run_in_threadpool(service.alarm_view, session, _store(request), model_id, version_id, wanted)
    return JSONResponse(service.alarm_json(view, request.state.lang))
