"""Pages for labeling: an inspection set's images (OK / NG, boxes, painted masks) and a sensor
series' events, each label saved with its author; committing the labels makes a new version."""

from __future__ import annotations

from typing import NamedTuple

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from aion.core.tenancy import NotFound, get_scoped
from aion.platform import datasets as ds_service
from aion.platform import policy
from aion.platform.errors import PlatformError
from aion.platform.kinds import mask_files
from aion.platform.masks import defect_mark
from aion.platform.models import DatasetItem, DatasetKind, Label
from aion.platform.previews import PREVIEW_SIZES
from aion.platform.validation import series_points
from aion.platform.web import _detail, message, runtime
from aion.web.deps import CurrentUser, SessionDep
from aion.web.forms import redirect
from aion.web.templating import render

router: APIRouter = APIRouter(include_in_schema=False)


@router.get("/datasets/{dataset_id}/label")
def label_page(request: Request, session: SessionDep, user: CurrentUser, dataset_id: int) -> Response:
    dataset = ds_service.get_dataset(session, dataset_id)
    version = ds_service.latest_version(session, dataset.id)
    if dataset.kind != DatasetKind.INSPECTION_IMAGES or version is None:
        raise NotFound("labeling", dataset_id)
    every = ds_service.version_items(session, version.id)
    items = [it for it in every if it.media_type != "mask"]
    pending = ds_service.pending_labels(session, version.id)
    current = {it.id: (pending[it.id].value if it.id in pending else it.label) or "" for it in items}
    mask_of = mask_files(every)
    return render(
        request,
        "platform/label.html",
        dataset=dataset,
        version=version,
        items=items,
        current=current,
        pending=pending,
        regions={it.id: _region(it, pending.get(it.id), mask_of.get(it.id)) for it in items},
        history=ds_service.label_history(session, version.id, 20),
        can_edit=policy.can_edit(user, dataset.company_id),
    )


class Region(NamedTuple):
    """The defect region the labeling page shows on an image: a box, or a mask's address."""

    box: list[float] | None
    mask_url: str | None


def _region(item: DatasetItem, pending: Label | None, mask_file: DatasetItem | None) -> Region:
    """The region the page shows on ``item``: the mark training takes (``masks.defect_mark``) of
    its latest label (``pending``), else of its version."""
    value, box, mask = (
        (pending.value, pending.box, pending.mask_sha256)
        if pending is not None
        else (item.label, item.box, item.mask_sha256)
    )
    mark = defect_mark(value, box, mask, mask_file)
    if mark is None:
        return Region(None, None)
    if mark.kind == "painted mask":  # the address changes with the mask: a cached copy is never stale
        return Region(None, f"/datasets/items/{item.id}/mask?v={(mark.mask_sha256 or '')[:12]}")
    if mark.kind == "mask file" and mask_file is not None:
        return Region(None, f"/datasets/items/{mask_file.id}/preview?size={PREVIEW_SIZES[-1]}")
    return Region(mark.box, None)


@router.get("/datasets/items/{item_id}/mask")
def item_mask(request: Request, session: SessionDep, user: CurrentUser, item_id: int) -> Response:
    """The defect mask painted on an image (its latest label's, else its version's), a PNG."""
    item = get_scoped(session, DatasetItem, item_id)
    _box, mask = ds_service.current_region(session, item)
    if mask is None:
        raise NotFound("mask", item_id)
    return FileResponse(
        runtime(request).storage.store.path(mask),
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=86400", "Content-Security-Policy": "default-src 'none'"},
    )


@router.get("/datasets/{dataset_id}/events")
def events_page(
    request: Request, session: SessionDep, user: CurrentUser, dataset_id: int, item: int = 0
) -> Response:
    """Sensor series: mark events on a chart by dragging (saved as labels with their author)."""
    dataset = ds_service.get_dataset(session, dataset_id)
    version = ds_service.latest_version(session, dataset.id)
    if dataset.kind != DatasetKind.SENSOR_SERIES or version is None:
        raise NotFound("events", dataset_id)
    files = [it for it in ds_service.version_items(session, version.id) if it.media_type.startswith("text/")]
    if not files:
        raise NotFound("events", dataset_id)
    current = next((it for it in files if it.id == item), files[0])
    points = series_points(runtime(request).storage.store.path(current.sha256))
    return render(
        request,
        "platform/events.html",
        dataset=dataset,
        version=version,
        files=files,
        current=current,
        points=points,
        events=ds_service.item_events(session, current),
        can_edit=policy.can_edit(user, dataset.company_id),
    )


@router.post("/datasets/items/{item_id}/label")
async def item_label(request: Request, session: SessionDep, user: CurrentUser, item_id: int) -> Response:
    """Form fallback of the labeling page (the page's script uses the JSON API)."""
    item = get_scoped(session, DatasetItem, item_id)
    policy.require(policy.can_edit(user, item.company_id))
    form = await request.form()
    value = str(form.get("value", "")) or None
    version = ds_service.get_scoped_version(session, item.version_id)
    try:
        ds_service.set_label(session, item.id, value)
    except PlatformError as e:
        return _detail(request, session, user, version.dataset_id, 400, [message(e, request)])
    return redirect(f"/datasets/{version.dataset_id}/label#item-{item.id}")


@router.post("/datasets/{dataset_id}/labels/commit")
async def labels_commit(
    request: Request, session: SessionDep, user: CurrentUser, dataset_id: int
) -> Response:
    dataset = ds_service.get_dataset(session, dataset_id)
    policy.require(policy.can_edit(user, dataset.company_id))
    form = await request.form()
    try:
        version = ds_service.commit_labels(
            session, runtime(request).storage.store, dataset, str(form.get("note", "")).strip()
        )
    except PlatformError as e:
        return _detail(request, session, user, dataset.id, 400, [message(e, request)])
    return redirect(f"/datasets/{dataset.id}/versions/{version.id}", "saved")
