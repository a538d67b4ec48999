"""Pages of the model registry: models, versions side by side, promote / roll back, download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from aion.accounts.models import User
from aion.core.tenancy import NotFound
from aion.line.models import Line
from aion.line.trialrun import TRIAL_SPEED_FILE
from aion.platform import deploy as dep
from aion.platform import modelregistry as reg
from aion.platform import policy
from aion.platform.areaform import param_text
from aion.platform.errors import PlatformError
from aion.platform.models import DatasetVersion
from aion.platform.web import message, runtime
from aion.web.deps import CurrentUser, SessionDep
from aion.web.forms import redirect
from aion.web.templating import render

router: APIRouter = APIRouter(include_in_schema=False)

#: Metrics in the versions table of a model (the comparison page shows every metric).
KEY_METRICS = ("f1", "image_auroc", "false_reject_rate", "escape_rate", "threshold")
#: Metrics shown first in tables (others follow by name); lower is better for the ones listed here.
LOWER_IS_BETTER = frozenset(
    {
        "false_reject_rate",
        "escape_rate",
        "calibration_frr",
        "ms_per_image",
        "train_seconds",
        "good_images_rejected",
    }
)


@router.get("/models")
def models_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    models = reg.list_models(session)
    return render(
        request,
        "platform/models.html",
        models=models,
        aliases={m.id: reg.aliases(session, m.id) for m in models},
    )


def _model_page(
    request: Request,
    session: Any,
    user: User,
    model_id: int,
    status: int = 200,
    errors: list[str] | None = None,
) -> Response:
    model = reg.get_model(session, model_id)
    versions = reg.versions(session, model.id)
    lineage = {
        v.id: session.get(DatasetVersion, v.dataset_version_id) if v.dataset_version_id else None
        for v in versions
    }
    present = {k for v in versions for k in (v.metrics or {})}
    metric_names = [k for k in KEY_METRICS if k in present]  # all of them on the comparison page
    deployable = model.kind in dep.DEPLOYABLE_KINDS
    targets = dep.machines(session, model.company_id) if deployable else []
    deployments = dep.deployments(session, model.id) if deployable else []
    trials = dep.trials(session, model.id) if model.kind == "inspection" else []
    data_dir = Path(request.app.state.settings.data_dir)
    return render(
        request,
        "platform/model.html",
        status,
        model=model,
        versions=versions,
        aliases=reg.aliases(session, model.id),
        history=reg.history(session, model.id),
        lineage=lineage,
        metric_names=metric_names,
        can_edit=policy.can_edit(user, model.company_id),
        errors=errors or [],
        deployable=deployable,
        targets=targets,
        lines={m.line_id: session.get(Line, m.line_id) for m in targets},
        deployments=deployments,
        trials=trials,
        speeds=dep.line_speeds(session, data_dir, model, deployments),
        trial_speeds=dep.line_speeds(session, data_dir, model, trials, TRIAL_SPEED_FILE),
        machines_by_id={m.id: m for m in targets},
        can_deploy=policy.can_deploy(user, model.company_id),
    )


@router.get("/models/{model_id}")
def model_page(request: Request, session: SessionDep, user: CurrentUser, model_id: int) -> Response:
    return _model_page(request, session, user, model_id)


@router.get("/models/{model_id}/compare")
def compare_page(request: Request, session: SessionDep, user: CurrentUser, model_id: int) -> Response:
    model = reg.get_model(session, model_id)
    ids = [int(v) for v in request.query_params.getlist("v") if v.isdigit()][:4]
    chosen = sorted((reg.get_version(session, model.id, i) for i in ids), key=lambda v: v.number)
    if len(chosen) < 2:
        chosen = reg.versions(session, model.id)[:2][::-1]
    lineage = {
        v.id: session.get(DatasetVersion, v.dataset_version_id) if v.dataset_version_id else None
        for v in chosen
    }
    return render(
        request,
        "platform/compare.html",
        model=model,
        chosen=chosen,
        table=reg.compare(chosen),
        param_text=param_text,
        lineage=lineage,
        aliases=reg.aliases(session, model.id),
        lower_is_better=LOWER_IS_BETTER,
        can_edit=policy.can_edit(user, model.company_id),
    )


@router.post("/models/{model_id}/versions/{version_id}/promote")
async def promote(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, version_id: int
) -> Response:
    model = reg.get_model(session, model_id)
    reg.get_version(session, model.id, version_id)
    policy.require(policy.can_edit(user, model.company_id))
    form = await request.form()
    try:
        reg.set_alias(session, model, str(form.get("alias", "production")), version_id)
    except PlatformError as e:
        return _model_page(request, session, user, model.id, 400, [message(e, request)])
    return redirect(f"/models/{model.id}", "saved")


@router.post("/models/{model_id}/rollback")
async def rollback(request: Request, session: SessionDep, user: CurrentUser, model_id: int) -> Response:
    model = reg.get_model(session, model_id)
    policy.require(policy.can_edit(user, model.company_id))
    form = await request.form()
    store = runtime(request).storage.store
    data_dir = Path(request.app.state.settings.data_dir)
    may_deploy = policy.can_deploy(user, model.company_id)
    alias = str(form.get("alias", "production"))
    try:
        moved = await run_in_threadpool(dep.rollback, session, store, data_dir, model, alias, may_deploy)
    except PlatformError as e:
        return _model_page(request, session, user, model.id, 400, [message(e, request)])
    return redirect(f"/models/{model.id}", "rolled-back-line" if moved else "saved")


@router.get("/models/{model_id}/versions/{version_id}/download")
def download(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, version_id: int
) -> Response:
    """The model file, for an edge PC (``aion inspect predict`` loads it with onnxruntime only)."""
    model = reg.get_model(session, model_id)
    version = reg.get_version(session, model.id, version_id)
    path = runtime(request).storage.store.path(version.sha256)
    return FileResponse(path, media_type="application/octet-stream", filename=version.filename)


@router.post("/models/{model_id}/deploy")
async def deploy(request: Request, session: SessionDep, user: CurrentUser, model_id: int) -> Response:
    """Deploy the model's production version to one of the company's line machines (audited)."""
    model = reg.get_model(session, model_id)
    form = await request.form()
    machine_id = str(form.get("machine_id", ""))
    if not machine_id.isdigit():
        raise NotFound("Machine", machine_id)
    policy.require(policy.can_deploy(user, model.company_id))
    production = reg.aliases(session, model.id).get("production")
    try:
        if production is None:
            raise PlatformError("Promote this version to production before deploying it.")
        version = reg.get_version(session, model.id, production)
        store = runtime(request).storage.store
        data_dir = Path(request.app.state.settings.data_dir)
        await run_in_threadpool(dep.deploy, session, store, data_dir, model, version, int(machine_id))
    except PlatformError as e:
        return _model_page(request, session, user, model.id, 400, [message(e, request)])
    return redirect(f"/models/{model.id}", "deployed")


@router.post("/models/{model_id}/deployments/{machine_id}/remove")
async def undeploy(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, machine_id: int
) -> Response:
    """Take the model off a machine (audited); the line's rules score the machine again."""
    model = reg.get_model(session, model_id)
    policy.require(policy.can_deploy(user, model.company_id))
    store = runtime(request).storage.store
    data_dir = Path(request.app.state.settings.data_dir)
    await run_in_threadpool(dep.undeploy, session, store, data_dir, model, machine_id)
    return redirect(f"/models/{model.id}", "undeployed")


@router.post("/models/{model_id}/trials")
async def start_trial(request: Request, session: SessionDep, user: CurrentUser, model_id: int) -> Response:
    """Put a version of an inspection model on trial beside a camera machine's model (audited):
    the line scores the photos with it too and acts on none of its calls."""
    model = reg.get_model(session, model_id)
    form = await request.form()
    machine_id, version_id = str(form.get("machine_id", "")), str(form.get("version_id", ""))
    if not machine_id.isdigit():
        raise NotFound("Machine", machine_id)
    if not version_id.isdigit():
        raise NotFound("ModelVersion", version_id)
    policy.require(policy.can_deploy(user, model.company_id))
    version = reg.get_version(session, model.id, int(version_id))
    store = runtime(request).storage.store
    data_dir = Path(request.app.state.settings.data_dir)
    try:
        await run_in_threadpool(dep.start_trial, session, store, data_dir, model, version, int(machine_id))
    except PlatformError as e:
        return _model_page(request, session, user, model.id, 400, [message(e, request)])
    return redirect(f"/models/{model.id}", "trial-started")


@router.post("/models/{model_id}/trials/{machine_id}/end")
async def end_trial(request: Request, session: SessionDep, user: CurrentUser, model_id: int, machine_id: int) -> Response:  # fmt: skip
    """Stop the model's trial on a machine (audited)."""
    model = reg.get_model(session, model_id)
    policy.require(policy.can_deploy(user, model.company_id))
    dep.require_trial(session, model, machine_id)
    store = runtime(request).storage.store
    data_dir = Path(request.app.state.settings.data_dir)
    await run_in_threadpool(dep.end_trial, session, store, data_dir, machine_id)
    return redirect(f"/models/{model.id}", "trial-ended")
