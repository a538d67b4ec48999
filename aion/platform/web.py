"""Pages of the platform: data sets (list, detail, upload, versions, files and previews).

Labeling, jobs with the compute admin page, and the model registry are in
:mod:`aion.platform.web_labels`, :mod:`aion.platform.web_jobs` and :mod:`aion.platform.web_models`,
included here so the app needs one router line. The router's
lifespan starts the :class:`~aion.platform.runtime.PlatformRuntime` (and stops it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from aion.accounts.models import Company, User
from aion.core.tenancy import NotFound, get_scoped
from aion.i18n import gettext
from aion.platform import datasets as ds_service
from aion.platform import jobkinds, policy
from aion.platform.areaform import AreaForm, previous_area
from aion.platform.errors import PlatformError, ValidationFailed
from aion.platform.export import write_training_zip
from aion.platform.kinds import INSPECTION_DEFAULTS, RESOLUTIONS, mask_files
from aion.platform.models import DatasetItem, DatasetKind
from aion.platform.previews import PREVIEW_SIZES, preview_blob
from aion.platform.quota import storage_limit, storage_used
from aion.platform.runtime import PlatformRuntime, runtime_for
from aion.platform.validation import table_head
from aion.solutions.inspection.config import calibration_count
from aion.solutions.inspection.threshold import frr_floor
from aion.web.deps import CurrentUser, SessionDep, verify_csrf
from aion.web.forms import pick_language, redirect
from aion.web.templating import add_template_dir, render

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {
    "platform.css": "text/css",
    "platform.js": "text/javascript",
    "label.js": "text/javascript",
    "events.js": "text/javascript",
    "area.js": "text/javascript",
}
KIND_LABELS = {
    "inspection_images": "Inspection images",
    "sensor_series": "Sensor series",
    "tabular": "Table",
}
PREVIEW = 60
TABLE_PREVIEWS = 3  # first rows shown for this many CSV files of a version

add_template_dir(Path(__file__).resolve().parent / "templates")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    rt = await run_in_threadpool(runtime_for, app)
    try:
        yield
    finally:
        await run_in_threadpool(rt.stop)
        app.state.platform = None


router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False, lifespan=lifespan)


def runtime(request: Request) -> PlatformRuntime:
    return runtime_for(request.app)


def message(e: PlatformError, request: Request) -> str:
    return e.localized(request.state.lang)


def problems_for(e: ValidationFailed, request: Request) -> list[dict[str, str]]:
    lang = request.state.lang
    return [
        {"path": p.get("path", ""), "reason": pick_language(p.get("reason", ""), lang)} for p in e.problems
    ]


def _static_route(name: str, media_type: str) -> None:
    def serve() -> Response:
        return FileResponse(STATIC / name, media_type=media_type, headers={"Cache-Control": "max-age=3600"})

    router.add_api_route(f"/platform/static/{name}", serve, methods=["GET"], name=f"platform-static-{name}")


for _name, _media in STATIC_FILES.items():
    _static_route(_name, _media)


# -- data sets ------------------------------------------------------------------------------
def _companies(request: Request, session: Any, user: User) -> list[Company]:
    from sqlalchemy import select

    allowed = policy.creatable_company_ids(user)
    if allowed is None:
        return list(session.scalars(select(Company).order_by(Company.name)))
    return [get_scoped(session, Company, c) for c in allowed]


@router.get("/datasets")
def datasets_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return _datasets_page(request, session, user)


def _datasets_page(
    request: Request,
    session: Any,
    user: User,
    status: int = 200,
    errors: list[str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    items = ds_service.list_datasets(session)
    latest = {d.id: ds_service.latest_version(session, d.id) for d in items}
    return render(
        request,
        "platform/datasets.html",
        status,
        datasets=items,
        latest=latest,
        companies=_companies(request, session, user),
        kinds=KIND_LABELS,
        errors=errors or [],
        values=values or {},
    )


@router.post("/datasets")
async def dataset_create(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, "")).strip() for k in ("name", "kind", "description", "company_id")}
    allowed = policy.creatable_company_ids(user)
    try:
        company_id = int(values["company_id"]) if values["company_id"] else (allowed or [0])[0]
    except ValueError:
        company_id = 0
    if allowed is not None and company_id not in allowed:
        return _datasets_page(
            request, session, user, 400, [gettext(request.state.lang, "Choose a company.")], values
        )
    policy.require(policy.can_edit(user, company_id))
    try:
        dataset = ds_service.create_dataset(
            session, company_id, values["name"], values["kind"], values["description"]
        )
    except PlatformError as e:
        return _datasets_page(request, session, user, 400, [message(e, request)], values)
    return redirect(f"/datasets/{dataset.id}", "created")


def _detail(
    request: Request,
    session: Any,
    user: User,
    dataset_id: int,
    status: int = 200,
    errors: list[str] | None = None,
    problems: list[dict[str, str]] | None = None,
) -> Response:
    dataset = ds_service.get_dataset(session, dataset_id)
    versions = ds_service.list_versions(session, dataset.id)
    return render(
        request,
        "platform/dataset.html",
        status,
        dataset=dataset,
        versions=versions,
        kinds=KIND_LABELS,
        job_kinds=jobkinds.kinds_for(dataset.kind),
        can_edit=policy.can_edit(user, dataset.company_id),
        used=storage_used(session, dataset.company_id),
        limit=storage_limit(session, dataset.company_id),
        errors=errors or [],
        problems=problems or [],
    )


@router.get("/datasets/{dataset_id}")
def dataset_page(request: Request, session: SessionDep, user: CurrentUser, dataset_id: int) -> Response:
    return _detail(request, session, user, dataset_id)


@router.post("/datasets/{dataset_id}/upload")
async def dataset_upload(
    request: Request, session: SessionDep, user: CurrentUser, dataset_id: int
) -> Response:
    """Small uploads from a form (files or zips); large files go through the resumable API."""
    dataset = ds_service.get_dataset(session, dataset_id)
    policy.require(policy.can_edit(user, dataset.company_id))
    form = await request.form()
    rt = runtime(request)
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if not files:
        await form.close()
        msg = gettext(request.state.lang, "Choose one or more files to upload.")
        return _detail(request, session, user, dataset.id, 400, [msg])
    workdir = Path(tempfile.mkdtemp(prefix="form-", dir=rt.storage.tmp))
    try:
        sources = []
        for i, f in enumerate(files):
            local = workdir / f"{i:05d}"
            with open(local, "wb") as out:
                await run_in_threadpool(shutil.copyfileobj, f.file, out, 4 * 1024 * 1024)
            sources.append((f.filename or local.name, local))
        note = str(form.get("note", "")).strip()
        version = await run_in_threadpool(
            partial(ds_service.add_files, skip_problems=form.get("skip_problems") == "1"),
            session,
            rt.storage.store,
            rt.storage.tmp,
            dataset,
            sources,
            note,
        )
    except ValidationFailed as e:
        return _detail(
            request, session, user, dataset.id, 400, [message(e, request)], problems_for(e, request)
        )
    except PlatformError as e:
        return _detail(request, session, user, dataset.id, 400, [message(e, request)])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        await form.close()
    return redirect(f"/datasets/{dataset.id}/versions/{version.id}", "created")


def _marked(ng_items: list[DatasetItem]) -> tuple[int, int]:
    """How many NG images have a painted mask, and how many a box (and no painted mask)."""
    painted = sum(1 for it in ng_items if it.mask_sha256)
    return painted, sum(1 for it in ng_items if it.box and not it.mask_sha256)


@router.get("/datasets/{dataset_id}/versions/{version_id}")
def version_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    dataset_id: int,
    version_id: int,
    label: str = "",
) -> Response:
    dataset = ds_service.get_dataset(session, dataset_id)
    version = ds_service.get_version(session, dataset.id, version_id)
    items = ds_service.version_items(session, version.id, label=label or None, limit=PREVIEW)
    store = runtime(request).storage.store
    tables = {
        it.id: table_head(store.path(it.sha256))
        for it in items[:TABLE_PREVIEWS]
        if it.media_type in ("text/csv", "text/tab-separated-values")
    }
    return render(
        request,
        "platform/version.html",
        tables=tables,
        dataset=dataset,
        version=version,
        items=items,
        label=label,
        preview=PREVIEW,
        kinds=KIND_LABELS,
        job_kinds=jobkinds.kinds_for(dataset.kind),
        resolutions=RESOLUTIONS,
        train_defaults=INSPECTION_DEFAULTS,
        # NG images whose defect is marked in the labeling page: they train a defect head
        marked=_marked(ds_service.version_items(session, version.id, label="ng"))
        if version.counts.get("ng")
        else (0, 0),
        calibration=_calibration(version.counts),
        few_good=FEW_GOOD_IMAGES,
        can_edit=policy.can_edit(user, dataset.company_id),
        **_area_form(session, dataset, version),
    )


def _area_form(session: SessionDep, dataset: Any, version: Any) -> dict[str, Any]:
    """The training form's inspection area: a photo of the version to draw on (the previous
    model's reference photo when its area follows the part and the photo is in this version,
    else a good one), and the fields filled in from the newest model trained on the data set."""
    if dataset.kind != DatasetKind.INSPECTION_IMAGES:
        return {"area_photo": None, "area_prefill": AreaForm()}
    prefill = previous_area(session, dataset)
    previous = ds_service.item_at(session, version.id, prefill.reference) if prefill.reference else None
    if previous is not None and previous.media_type.startswith("image/"):
        return {"area_photo": previous, "area_prefill": prefill}
    photo = next(
        (
            it
            for label in ("ok", "none")  # queried in turn: an unlabelled photo only without OK ones
            for it in ds_service.version_items(session, version.id, label=label, limit=1)
            if it.media_type.startswith("image/")
        ),
        None,
    )
    return {"area_photo": photo, "area_prefill": prefill}


#: Below this many good images the training form advises more (docs/benchmarks.md, *How many good
#: images*: image AUROC still rose 0.03-0.06 from 200 to 400 on both sets).
FEW_GOOD_IMAGES = 200


def _calibration(counts: dict[str, int]) -> tuple[int, int, float]:
    """Good images of a version (OK and unlabelled), how many of them training's defaults set the
    threshold on, and the lowest false-reject rate that many scores can promise."""
    n_good = int(counts.get("ok", 0)) + int(counts.get("unlabeled", 0))
    d = INSPECTION_DEFAULTS
    n_cal = calibration_count(n_good, d.holdout_fraction, d.min_calibration_images) if n_good else 0
    return n_good, n_cal, frr_floor(n_cal)


@router.get("/datasets/{dataset_id}/versions/{version_id}/manifest.json")
def version_manifest(
    request: Request, session: SessionDep, user: CurrentUser, dataset_id: int, version_id: int
) -> Response:
    dataset = ds_service.get_dataset(session, dataset_id)
    version = ds_service.get_version(session, dataset.id, version_id)
    path = runtime(request).storage.store.path(version.manifest_sha256)
    name = f"{dataset.id}-v{version.number}-manifest.json"
    return FileResponse(path, media_type="application/json", filename=name)


@router.get("/datasets/{dataset_id}/versions/{version_id}/training.zip")
async def version_training_zip(
    request: Request, session: SessionDep, user: CurrentUser, dataset_id: int, version_id: int
) -> Response:
    """The version's images and defect marks in the OK/NG layout ``aion inspect`` reads (``export.py``)."""
    dataset = ds_service.get_dataset(session, dataset_id)
    version = ds_service.get_version(session, dataset.id, version_id)
    if dataset.kind != DatasetKind.INSPECTION_IMAGES:
        raise NotFound("training.zip", version_id)
    every = ds_service.version_items(session, version.id)
    images = [it for it in every if it.media_type != "mask"]
    storage = runtime(request).storage
    storage.tmp.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="export-", suffix=".zip", dir=storage.tmp)
    os.close(fd)
    out = Path(name)
    try:
        await run_in_threadpool(write_training_zip, images, mask_files(every), storage.store, out)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return FileResponse(
        out,
        media_type="application/zip",
        filename=f"{dataset.name}-v{version.number}.zip",
        background=BackgroundTask(out.unlink, missing_ok=True),
    )


@router.get("/datasets/items/{item_id}/file")
def item_file(request: Request, session: SessionDep, user: CurrentUser, item_id: int) -> Response:
    item = get_scoped(session, DatasetItem, item_id)
    media = item.media_type if item.media_type.startswith(("image/", "text/")) else "application/octet-stream"
    if item.media_type == "mask":
        media = "image/png"
    return FileResponse(
        runtime(request).storage.store.path(item.sha256),
        media_type=media,
        headers={"Cache-Control": "private, max-age=86400", "Content-Security-Policy": "default-src 'none'"},
    )


@router.get("/datasets/items/{item_id}/preview")
def item_preview(
    request: Request, session: SessionDep, user: CurrentUser, item_id: int, size: int = PREVIEW_SIZES[0]
) -> Response:
    """An image item as the browser can show it (``previews.py``): any stored format, shrunk."""
    item = get_scoped(session, DatasetItem, item_id)
    mask = item.media_type == "mask"
    if not (mask or item.media_type.startswith("image/")):
        raise NotFound("preview", item_id)
    store = runtime(request).storage.store
    try:
        sha = preview_blob(store, item.sha256, item.path, size, mask)
    except PlatformError as e:  # an unknown size, or a file that no longer decodes
        return Response(message(e, request), status_code=400, media_type="text/plain; charset=utf-8")
    return FileResponse(
        store.path(sha),
        media_type="image/png" if mask else "image/jpeg",
        headers={"Cache-Control": "private, max-age=86400", "Content-Security-Policy": "default-src 'none'"},
    )


from aion.platform import web_jobs, web_labels, web_models  # noqa: E402  (they use the helpers above)

router.include_router(web_labels.router)
router.include_router(web_jobs.router)
router.include_router(web_models.router)
