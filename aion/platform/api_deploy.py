"""JSON API of deployments and trials (under /api): a model's versions on the company's line
machines, and an inspection model's version tried beside a camera's model before it is adopted.

The same service calls as the model page and the line's photos page (``deploy.py``): scoped to
the caller's company, allowed to those who may deploy (``policy.can_deploy``), audited, and each
change writes the line's ``models/deployed.json``, which the line PC reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from aion.platform import deploy as dep
from aion.platform import modelregistry as reg
from aion.platform import policy
from aion.platform.api import problem
from aion.platform.errors import PlatformError
from aion.platform.models import RegisteredModel
from aion.platform.schemas import DeploymentCreate, DeploymentPublic, TrialCreate, TrialPublic
from aion.platform.web import runtime
from aion.web.deps import CurrentUser, SessionDep, verify_csrf

router = APIRouter(prefix="/api/models/{model_id}", dependencies=[Depends(verify_csrf)], tags=["deployments"])


def _deployable(session: Any, user: Any, model_id: int) -> RegisteredModel:
    """The caller's company's model (404 otherwise), when the caller may deploy (403 otherwise)."""
    model = reg.get_model(session, model_id)
    policy.require(policy.can_deploy(user, model.company_id))
    return model


def _places(request: Request) -> tuple[Any, Path]:
    """The blob store the model files come from, and the data folder of the lines' folders."""
    return runtime(request).storage.store, Path(request.app.state.settings.data_dir)


@router.get("/deployments", response_model=list[DeploymentPublic])
def api_deployments(session: SessionDep, user: CurrentUser, model_id: int) -> list[Any]:
    """The machines the model serves, and which version each runs."""
    return dep.deployments(session, reg.get_model(session, model_id).id)


@router.post("/deployments", response_model=DeploymentPublic, status_code=201)
async def api_deploy(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, body: DeploymentCreate
) -> Any:
    """Deploy the model's production version to a machine; a model already there is replaced."""
    model = _deployable(session, user, model_id)
    store, data_dir = _places(request)
    try:
        chosen = reg.aliases(session, model.id).get("production")
        if chosen is None:
            raise PlatformError("Promote this version to production before deploying it.")
        version = reg.get_version(session, model.id, chosen)
        return await run_in_threadpool(dep.deploy, session, store, data_dir, model, version, body.machine_id)
    except PlatformError as e:
        return problem(request, e)


@router.delete("/deployments/{machine_id}", status_code=204)
async def api_undeploy(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, machine_id: int
) -> Response:
    """Take the model off the machine; the line's rules score it again."""
    model = _deployable(session, user, model_id)
    store, data_dir = _places(request)
    await run_in_threadpool(dep.undeploy, session, store, data_dir, model, machine_id)
    return Response(status_code=204)


@router.get("/trials", response_model=list[TrialPublic])
def api_trials(session: SessionDep, user: CurrentUser, model_id: int) -> list[Any]:
    """The model's versions on trial, machine by machine."""
    return dep.trials(session, reg.get_model(session, model_id).id)


@router.post("/trials", response_model=TrialPublic, status_code=201)
async def api_start_trial(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, body: TrialCreate
) -> Any:
    """Try a version of an inspection model beside a camera machine's model: the station scores
    the photos with it too and acts on none of its calls. A trial already there is replaced."""
    model = _deployable(session, user, model_id)
    store, data_dir = _places(request)
    try:
        version = reg.get_version(session, model.id, body.version_id)
        return await run_in_threadpool(
            dep.start_trial, session, store, data_dir, model, version, body.machine_id
        )
    except PlatformError as e:
        return problem(request, e)


@router.delete("/trials/{machine_id}", status_code=204)
async def api_end_trial(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, machine_id: int
) -> Response:
    """Stop the model's trial on the machine; the station's records of it stay on the line PC."""
    model = _deployable(session, user, model_id)
    dep.require_trial(session, model, machine_id)
    store, data_dir = _places(request)
    await run_in_threadpool(dep.end_trial, session, store, data_dir, machine_id)
    return Response(status_code=204)


@router.post("/trials/{machine_id}/adopt", response_model=DeploymentPublic)
async def api_adopt_trial(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, machine_id: int
) -> Any:
    """The version on trial becomes the model's production version and the machine's model."""
    model = _deployable(session, user, model_id)
    dep.require_trial(session, model, machine_id)
    store, data_dir = _places(request)
    try:
        return await run_in_threadpool(dep.adopt_trial, session, store, data_dir, machine_id)
    except PlatformError as e:
        return problem(request, e)
