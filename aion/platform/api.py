"""JSON API of the platform (under /api): data sets, resumable uploads, labels, jobs, models."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from aion.core.tenancy import NotFound, current_scope, get_scoped
from aion.platform import datasets as ds_service
from aion.platform import jobs as job_service
from aion.platform import modelregistry as reg
from aion.platform import policy
from aion.platform.errors import PlatformError, QuotaExceeded, ValidationFailed
from aion.platform.masks import MAX_MASK_BYTES, mask_too_large
from aion.platform.models import (
    Dataset,
    DatasetItem,
    DatasetVersion,
    JobRecord,
    ModelVersion,
    RegisteredModel,
)
from aion.platform.quota import DbStorageQuota
from aion.platform.schemas import (
    AliasRollback,
    AliasSet,
    AreaPreviewPublic,
    DatasetCreate,
    DatasetPublic,
    FoundPartPublic,
    ItemPublic,
    JobCreate,
    JobPublic,
    LabelPublic,
    LabelSet,
    ModelDetail,
    ModelPublic,
    ModelVersionPublic,
    UploadCreate,
    UploadPublic,
    VersionFromUploads,
    VersionPublic,
)
from aion.platform.storage.errors import StorageError, StorageQuotaError, UploadError
from aion.platform.storage.uploads import UploadSession
from aion.platform.web import runtime
from aion.web.deps import CurrentUser, SessionDep, verify_csrf
from aion.web.forms import pick_language

router = APIRouter(prefix="/api", dependencies=[Depends(verify_csrf)])
MAX_CHUNK = 32 * 1024 * 1024


def problem(request: Request, e: Exception) -> JSONResponse:
    """A refused change as JSON in the reader's language (nothing was stored)."""
    lang = request.state.lang
    if isinstance(e, PlatformError):
        body: dict[str, Any] = {"detail": e.localized(lang)}
        if isinstance(e, ValidationFailed):
            body["problems"] = [{**p, "reason": pick_language(p.get("reason", ""), lang)} for p in e.problems]
        return JSONResponse(body, status_code=413 if isinstance(e, QuotaExceeded) else 400)
    status = 413 if isinstance(e, StorageQuotaError) else 400
    return JSONResponse({"detail": pick_language(str(e), lang)}, status_code=status)


# -- data sets ----------------------------------------------------------------------------------
@router.get("/datasets", response_model=list[DatasetPublic], tags=["datasets"])
def api_datasets(session: SessionDep, user: CurrentUser) -> list[Dataset]:
    return ds_service.list_datasets(session)


@router.post("/datasets", response_model=DatasetPublic, status_code=201, tags=["datasets"])
def api_dataset_create(request: Request, session: SessionDep, user: CurrentUser, body: DatasetCreate) -> Any:
    allowed = policy.creatable_company_ids(user)
    company_id = body.company_id if body.company_id is not None else (allowed or [0])[0]
    if allowed is not None and company_id not in allowed:
        raise NotFound("Company", company_id)
    policy.require(policy.can_edit(user, company_id))
    try:
        return ds_service.create_dataset(session, company_id, body.name, body.kind, body.description)
    except PlatformError as e:
        return problem(request, e)


@router.get("/datasets/{dataset_id}", response_model=DatasetPublic, tags=["datasets"])
def api_dataset(session: SessionDep, user: CurrentUser, dataset_id: int) -> Dataset:
    return ds_service.get_dataset(session, dataset_id)


@router.get("/datasets/{dataset_id}/versions", response_model=list[VersionPublic], tags=["datasets"])
def api_versions(session: SessionDep, user: CurrentUser, dataset_id: int) -> list[DatasetVersion]:
    return ds_service.list_versions(session, ds_service.get_dataset(session, dataset_id).id)


@router.get(
    "/datasets/{dataset_id}/versions/{version_id}/items", response_model=list[ItemPublic], tags=["datasets"]
)
def api_items(
    session: SessionDep,
    user: CurrentUser,
    dataset_id: int,
    version_id: int,
    offset: int = 0,
    limit: int = 500,
) -> list[DatasetItem]:
    version = ds_service.get_version(session, ds_service.get_dataset(session, dataset_id).id, version_id)
    return ds_service.version_items(
        session, version.id, offset=max(0, offset), limit=min(max(1, limit), 5000)
    )


@router.get(
    "/datasets/{dataset_id}/versions/{version_id}/area-preview",
    response_model=AreaPreviewPublic,
    tags=["datasets"],
)
def api_area_preview(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    dataset_id: int,
    version_id: int,
    crop: str = "",
    reference: str = "",
    turn: str = "",
) -> Any:
    """Where an inspection area that follows the part (``crop`` drawn on the version's image
    ``reference``; ``turn``: degrees it may also turn) would lie in the version's first photos,
    before training (``areapreview.py``)."""
    from aion.platform.areapreview import find_parts

    version = ds_service.get_version(session, ds_service.get_dataset(session, dataset_id).id, version_id)
    try:
        found = find_parts(session, runtime(request).storage.store, version, crop, reference, turn)
    except PlatformError as e:
        return problem(request, e)
    return AreaPreviewPublic(
        photos=[
            FoundPartPublic(
                item_id=f.item_id, path=f.path, box=list(f.box), match=f.match, weak=f.weak, angle=f.angle
            )
            for f in found
        ]
    )


@router.post("/datasets/items/{item_id}/label", response_model=LabelPublic, tags=["datasets"])
def api_label(request: Request, session: SessionDep, user: CurrentUser, item_id: int, body: LabelSet) -> Any:
    item = get_scoped(session, DatasetItem, item_id)
    policy.require(policy.can_edit(user, item.company_id))
    try:
        return ds_service.set_label(session, item.id, body.value, body.box)
    except PlatformError as e:
        return problem(request, e)


@router.put(
    "/datasets/items/{item_id}/mask",
    response_model=LabelPublic,
    tags=["datasets"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def api_mask(request: Request, session: SessionDep, user: CurrentUser, item_id: int) -> Any:
    """Label an image NG with the defect mask painted on it: the body is a PNG (``image/png``) of
    the image's shape whose alpha channel, or grey value, marks the defect (``masks.py``)."""
    item = get_scoped(session, DatasetItem, item_id)
    policy.require(policy.can_edit(user, item.company_id))
    try:
        data = await _capped_body(request, MAX_MASK_BYTES)
        return ds_service.set_mask(session, runtime(request).storage.store, item.id, data)
    except PlatformError as e:
        return problem(request, e)


@router.delete("/datasets/items/{item_id}/mask", response_model=LabelPublic, tags=["datasets"])
def api_mask_delete(request: Request, session: SessionDep, user: CurrentUser, item_id: int) -> Any:
    """Remove the painted mask (and any box): the image stays NG without a region."""
    item = get_scoped(session, DatasetItem, item_id)
    policy.require(policy.can_edit(user, item.company_id))
    return ds_service.set_label(session, item.id, "ng", keep_region=False)


async def _capped_body(request: Request, limit: int) -> bytes:
    """The request body, refused once it passes ``limit`` bytes (before all of it is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise mask_too_large(int(declared))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise mask_too_large(len(body))
    return bytes(body)


# -- resumable uploads ----------------------------------------------------------------------------
def _own_upload(request: Request, session: Any, user: Any, upload_id: str) -> UploadSession:
    """The upload if it belongs to a company the user may edit; else 404 (never another's)."""
    try:
        s: UploadSession = runtime(request).storage.uploads.status(upload_id)
    except UploadError:
        raise NotFound("Upload", upload_id) from None
    company_id = int(s.company_id)
    if not current_scope(session).allows(company_id) or not policy.can_edit(user, company_id):
        raise NotFound("Upload", upload_id)
    return s


def _upload_public(s: UploadSession) -> UploadPublic:
    return UploadPublic(upload_id=s.upload_id, offset=s.offset, size=s.size, filename=s.filename)


@router.post("/datasets/{dataset_id}/uploads", response_model=UploadPublic, status_code=201, tags=["uploads"])
def api_upload_create(
    request: Request, session: SessionDep, user: CurrentUser, dataset_id: int, body: UploadCreate
) -> Any:
    """Start a resumable upload of one file (a zip or a data file) for this data set."""
    dataset = ds_service.get_dataset(session, dataset_id)
    policy.require(policy.can_edit(user, dataset.company_id))
    try:
        DbStorageQuota(session).check(str(dataset.company_id), body.size)
        s = runtime(request).storage.uploads.create(
            str(dataset.company_id), body.size, body.sha256, body.filename
        )
    except StorageError as e:
        return problem(request, e)
    return _upload_public(s)


@router.get("/uploads/{upload_id}", response_model=UploadPublic, tags=["uploads"])
def api_upload_status(
    request: Request, session: SessionDep, user: CurrentUser, upload_id: str
) -> UploadPublic:
    """Where to resume: ``offset`` is the number of bytes received."""
    return _upload_public(_own_upload(request, session, user, upload_id))


@router.put("/uploads/{upload_id}", response_model=UploadPublic, tags=["uploads"])
async def api_upload_chunk(
    request: Request, session: SessionDep, user: CurrentUser, upload_id: str, offset: int
) -> Any:
    """Send the bytes from ``offset`` on (raw body, at most 32 MiB per request)."""
    s = _own_upload(request, session, user, upload_id)
    body = await request.body()
    if len(body) > MAX_CHUNK:
        return JSONResponse({"detail": f"chunk larger than {MAX_CHUNK} bytes"}, status_code=413)
    uploads = runtime(request).storage.uploads
    try:
        await run_in_threadpool(uploads.write, s.upload_id, offset, body)
    except StorageError as e:
        resp = problem(request, e)
        resp.headers["Upload-Offset"] = str(uploads.status(s.upload_id).offset)
        return resp
    return _upload_public(uploads.status(s.upload_id))


@router.post(
    "/datasets/{dataset_id}/versions", response_model=VersionPublic, status_code=201, tags=["uploads"]
)
async def api_version_from_uploads(
    request: Request, session: SessionDep, user: CurrentUser, dataset_id: int, body: VersionFromUploads
) -> Any:
    """Finish the uploads, check every file (zips expanded), and make a new version (or store nothing)."""
    dataset = ds_service.get_dataset(session, dataset_id)
    policy.require(policy.can_edit(user, dataset.company_id))
    rt = runtime(request)
    sessions = [_own_upload(request, session, user, u) for u in body.uploads]
    if any(int(s.company_id) != dataset.company_id for s in sessions):
        raise NotFound("Upload", body.uploads[0])
    try:
        sources = []
        for s in sessions:
            info = await run_in_threadpool(rt.storage.uploads.finalize, s.upload_id)
            sources.append((s.filename, rt.storage.store.path(info.sha256)))
        return await run_in_threadpool(
            partial(ds_service.add_files, skip_problems=body.skip_problems),
            session,
            rt.storage.store,
            rt.storage.tmp,
            dataset,
            sources,
            body.note,
        )
    except (PlatformError, StorageError) as e:
        return problem(request, e)


# -- jobs ------------------------------------------------------------------------------------------
@router.get("/jobs", response_model=list[JobPublic], tags=["jobs"])
def api_jobs(session: SessionDep, user: CurrentUser) -> list[JobRecord]:
    return job_service.list_jobs(session)


@router.post("/jobs", response_model=JobPublic, status_code=201, tags=["jobs"])
def api_job_submit(request: Request, session: SessionDep, user: CurrentUser, body: JobCreate) -> Any:
    dataset = ds_service.get_dataset(session, body.dataset_id)
    policy.require(policy.can_edit(user, dataset.company_id))
    try:
        return job_service.submit_job(
            session, runtime(request), body.kind, dataset.id, body.version_id, body.options
        )
    except PlatformError as e:
        return problem(request, e)


@router.get("/jobs/{job_id}", response_model=JobPublic, tags=["jobs"])
def api_job(session: SessionDep, user: CurrentUser, job_id: str) -> JobRecord:
    return job_service.get_job(session, job_id)


@router.get("/jobs/{job_id}/logs", tags=["jobs"])
def api_job_logs(
    request: Request, session: SessionDep, user: CurrentUser, job_id: str, since: int = 0
) -> dict[str, Any]:
    lines = job_service.job_logs(session, runtime(request), job_id, max(0, since))
    return {"since": since, "lines": lines, "next": since + len(lines)}


@router.post("/jobs/{job_id}/cancel", response_model=JobPublic, tags=["jobs"])
def api_job_cancel(request: Request, session: SessionDep, user: CurrentUser, job_id: str) -> Any:
    job = job_service.get_job(session, job_id)
    policy.require(policy.can_edit(user, job.company_id))
    try:
        return job_service.cancel_job(session, runtime(request), job.id)
    except PlatformError as e:
        return problem(request, e)


# -- models -----------------------------------------------------------------------------------------
@router.get("/models", response_model=list[ModelPublic], tags=["models"])
def api_models(session: SessionDep, user: CurrentUser) -> list[RegisteredModel]:
    return reg.list_models(session)


def _detail(session: Any, model: RegisteredModel) -> ModelDetail:
    return ModelDetail(
        model=ModelPublic.model_validate(model),
        versions=[ModelVersionPublic.model_validate(v) for v in reg.versions(session, model.id)],
        aliases=reg.aliases(session, model.id),
    )


@router.get("/models/{model_id}", response_model=ModelDetail, tags=["models"])
def api_model(session: SessionDep, user: CurrentUser, model_id: int) -> ModelDetail:
    return _detail(session, reg.get_model(session, model_id))


@router.post("/models/{model_id}/aliases", response_model=ModelDetail, tags=["models"])
def api_alias(request: Request, session: SessionDep, user: CurrentUser, model_id: int, body: AliasSet) -> Any:
    """Point ``production`` or ``candidate`` at a version (promotion); audited."""
    model = reg.get_model(session, model_id)
    policy.require(policy.can_edit(user, model.company_id))
    try:
        reg.set_alias(session, model, body.alias, body.version_id)
    except PlatformError as e:
        return problem(request, e)
    return _detail(session, model)


@router.post("/models/{model_id}/rollback", response_model=ModelDetail, tags=["models"])
def api_rollback(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, body: AliasRollback
) -> Any:
    from aion.platform import deploy as dep
    from aion.platform.web import runtime

    model = reg.get_model(session, model_id)
    policy.require(policy.can_edit(user, model.company_id))
    data_dir = Path(request.app.state.settings.data_dir)
    try:
        dep.rollback(
            session,
            runtime(request).storage.store,
            data_dir,
            model,
            body.alias,
            policy.can_deploy(user, model.company_id),
        )
    except PlatformError as e:
        return problem(request, e)
    return _detail(session, model)


@router.get("/models/{model_id}/versions/{version_id}", response_model=ModelVersionPublic, tags=["models"])
def api_model_version(session: SessionDep, user: CurrentUser, model_id: int, version_id: int) -> ModelVersion:
    return reg.get_version(session, reg.get_model(session, model_id).id, version_id)


def _unused(response: Response) -> None:  # keeps the Response import for type checkers of handlers above
    return None
