"""Pages of a trained inspection model: evaluation report with a draggable threshold, and a photo try-out.

Every route looks the model and version up in the reader's companies first (404 otherwise), before
reading a form or a file.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile

from aion.i18n import gettext
from aion.inspectionweb import service
from aion.inspectionweb.errors import InspectionWebError
from aion.platform import modelregistry as reg
from aion.platform import policy
from aion.platform.errors import PlatformError
from aion.platform.models import ModelVersion, RegisteredModel
from aion.platform.web import message, runtime
from aion.web.deps import CurrentUser, SessionDep, verify_csrf
from aion.web.forms import redirect
from aion.web.templating import add_template_dir, render

STATIC = Path(__file__).resolve().parent / "static"
add_template_dir(Path(__file__).resolve().parent / "templates")

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
BASE = "/models/{model_id}/versions/{version_id}"


@router.get("/inspectionweb/static/threshold.js")
def threshold_js() -> Response:
    return FileResponse(STATIC / "threshold.js", media_type="text/javascript")


def _lookup(session: Any, model_id: int, version_id: int) -> tuple[RegisteredModel, ModelVersion]:
    model = reg.get_model(session, model_id)
    return model, reg.get_version(session, model.id, version_id)


def _cache_dir(request: Request) -> Path:
    return runtime(request).storage.root / "inspection-eval"


def statistic_label(key: str, lang: str) -> str:
    """A pooled map statistic's name (``scoring.statistic_names``) in the reader's language.

    >>> statistic_label("top_1%", "ko"), statistic_label("whole_map", "en"), statistic_label("odd", "ko")
    ('상위 1% 평균', 'Whole-map mean', 'odd')
    """
    if key == "whole_map":
        return gettext(lang, "Whole-map mean")
    if key == "max":
        return gettext(lang, "Hottest pixel")
    if key.startswith("top_") and key.endswith("%"):
        return gettext(lang, "Hottest {p}% mean", p=key[4:-1])
    return key


def _report(
    request: Request,
    session: Any,
    user: Any,
    model_id: int,
    version_id: int,
    status: int = 200,
    error: str = "",
) -> Response:
    model, version = _lookup(session, model_id, version_id)
    store = runtime(request).storage.store
    try:
        ev = service.evaluation(session, store, _cache_dir(request), version)
    except InspectionWebError as e:
        return render(
            request,
            "inspectionweb/report.html",
            400,
            model=model,
            version=version,
            error=message(e, request),
            ev=None,
        )
    opened = service.load_model(store, version)
    return render(
        request,
        "inspectionweb/report.html",
        status,
        model=model,
        version=version,
        ev=ev,
        basis=service.threshold_basis(opened.meta),
        held_maps=opened.held_back_patches_ is not None,
        standardised=bool(opened.meta.score_fractions),  # scores may fall below 0
        m=service.metrics_at(ev, ev.threshold),
        worst=service.worst(ev, ev.threshold),
        label_page=service.label_page(session, version),
        scores=[{"s": round(s.raw, 6), "y": s.label} for s in ev.images],
        can_edit=policy.can_edit(user, model.company_id),
        error=error,
    )


@router.get(BASE + "/report")
def report_page(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, version_id: int
) -> Response:
    return _report(request, session, user, model_id, version_id)


@router.get(BASE + "/items/{item_id}/heatmap.png")
def heatmap(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, version_id: int, item_id: int
) -> Response:
    _, version = _lookup(session, model_id, version_id)
    png = service.heatmap_png(session, runtime(request).storage.store, version, item_id)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=600"})


@router.post(BASE + "/threshold")
async def save_threshold(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, version_id: int
) -> Response:
    async with request.form() as form:  # closed even when the lookup below is a 404
        model, version = _lookup(session, model_id, version_id)
        policy.require(policy.can_edit(user, model.company_id))
        value = str(form.get("threshold", ""))
    try:
        t = service.parse_threshold(value)
        store = runtime(request).storage.store
        mv = await run_in_threadpool(
            service.save_threshold, session, store, _cache_dir(request), model, version, t
        )
    except PlatformError as e:  # a bad value, or the new file over the storage quota
        return _report(request, session, user, model_id, version_id, 400, message(e, request))
    return redirect(f"/models/{model.id}/versions/{mv.id}/report", "threshold_saved")


@router.get(BASE + "/try")
def try_page(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, version_id: int
) -> Response:
    model, version = _lookup(session, model_id, version_id)
    return render(request, "inspectionweb/try.html", model=model, version=version, result=None, error="")


@router.post(BASE + "/try")
async def try_photo(
    request: Request, session: SessionDep, user: CurrentUser, model_id: int, version_id: int
) -> Response:
    async with request.form() as form:  # closed even when the lookup below is a 404
        model, version = _lookup(session, model_id, version_id)
        ctx: dict[str, Any] = {"model": model, "version": version, "result": None, "error": ""}
        photo = form.get("photo")
        if not isinstance(photo, UploadFile) or not photo.filename:
            ctx["error"] = message(InspectionWebError("Choose a photo to inspect."), request)
            return render(request, "inspectionweb/try.html", 400, **ctx)
        name = photo.filename
        data = await photo.read(service.MAX_PHOTO_BYTES + 1)
    try:
        pred, png = await run_in_threadpool(
            service.try_photo, runtime(request).storage.store, version, data, name
        )
    except InspectionWebError as e:
        ctx["error"] = message(e, request)
        return render(request, "inspectionweb/try.html", 400, **ctx)
    lang = request.state.lang
    ctx["stat_name"] = lambda key: statistic_label(key, lang)
    ctx["result"] = {
        "name": name,
        "score": pred.score,
        "raw": pred.raw_score,
        "passed": pred.passed,
        "threshold": pred.threshold,
        "regions": [r.to_dict() for r in pred.regions],
        "statistics": pred.statistics,
        "cause": pred.cause,
        "part_match": pred.part_match,
        "weak_match": pred.weak_match,
        "angle": pred.angle,
        "heatmap": base64.b64encode(png).decode("ascii"),
    }
    return render(request, "inspectionweb/try.html", **ctx)
