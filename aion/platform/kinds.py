"""Built-in job kinds: ``train_inspection`` (visual inspection model from an image data set version)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy.orm import Session

from aion.core.tenancy import get_scoped
from aion.platform import modelregistry
from aion.platform.areaform import align_reference, area_options
from aion.platform.compute.jobs import JobKind
from aion.platform.datasets import version_items
from aion.platform.errors import PlatformError
from aion.platform.jobkinds import JobKindSpec, OutcomeContext, Prepared, PrepareRequest, register_kind
from aion.platform.masks import defect_mark
from aion.platform.models import Dataset, DatasetVersion
from aion.platform.storage.factory import job_output
from aion.solutions.inspection.config import TrainConfig

#: Resolutions the training form offers; its defaults are the engine's (``TrainConfig``), so a model
#: trained in the browser is the one ``aion inspect train`` and the benchmarks make.
RESOLUTIONS = (64, 128, 224, 256)
INSPECTION_DEFAULTS = TrainConfig()


def _int_option(options: dict[str, Any], key: str, default: int, allowed: tuple[int, ...]) -> int:
    try:
        value = int(options.get(key) or default)
    except (TypeError, ValueError):
        raise PlatformError("Bad value for {field}.", field=key) from None
    if value not in allowed:
        raise PlatformError("Bad value for {field}.", field=key)
    return value


def _target_frr(options: dict[str, Any]) -> float:
    """The accepted false-reject rate: ``target_frr`` as a share (the API), or ``target_frr_pct``
    in percent (the form: a factory says "1%", not "0.01"); below 50%.

    >>> _target_frr({"target_frr_pct": "2.5"}), _target_frr({"target_frr": "0.05"}), _target_frr({})
    (0.025, 0.05, 0.01)
    """
    field, scale = (
        ("target_frr_pct", 100.0) if options.get("target_frr_pct") not in (None, "") else ("target_frr", 1.0)
    )
    raw = options.get(field)
    try:
        value = (
            INSPECTION_DEFAULTS.target_frr if raw in (None, "") else float(str(raw).replace("%", "")) / scale
        )
    except ValueError:
        raise PlatformError("Bad value for {field}.", field=field) from None
    if not 0.0 <= value < 0.5:
        raise PlatformError("Bad value for {field}.", field=field)
    return value


def _mask_stem(path: str) -> str:
    """The image stem a mask file belongs to: ``ng_masks/a.png`` and ``ground_truth/x/a_mask.png``
    both -> ``a`` (lower case).

    >>> _mask_stem("ground_truth/crack/A_mask.png"), _mask_stem("ng_masks/b.png")
    ('a', 'b')
    """
    stem = PurePosixPath(path).stem.lower()
    return stem[: -len("_mask")] if stem.endswith("_mask") else stem


def mask_files(items: list[Any]) -> dict[int, Any]:
    """The mask file of each NG image among a version's ``items``, by the image item's id: a mask
    (``ng_masks/``, ``masks/`` or ``ground_truth/``) whose stem names exactly one NG image, and
    the only mask of that stem (no guessing)."""
    masks: dict[str, list[Any]] = {}
    for it in items:
        if it.media_type == "mask":
            masks.setdefault(_mask_stem(it.path), []).append(it)
    images = [it for it in items if it.media_type != "mask" and it.label == "ng"]
    ng_stems = Counter(PurePosixPath(it.path).stem.lower() for it in images)
    out: dict[int, Any] = {}
    for it in images:
        stem = PurePosixPath(it.path).stem.lower()
        if len(masks.get(stem, [])) == 1 and ng_stems[stem] == 1:
            out[it.id] = masks[stem][0]
    return out


def prepare_train_inspection(session: Session, req: PrepareRequest) -> Prepared:
    """Images of the version -> worker parameters; needs a few good images. An NG image carries
    its mark (``masks.defect_mark``: the mask painted on it in the labeling page, else a mask file
    of the same stem in ``ng_masks/``, ``masks/`` or ``ground_truth/``, else the box drawn on it):
    marked NG images train a defect head beside the memory bank (``aion/solutions/inspection/head.py``).

    An area that follows the part (``align``) records its reference photo, the image its boxes
    were drawn on (``area_reference``, an item id of this version), as ``config["align_reference"]``:
    that image's data set path, which the worker maps to its working copy (``tasks.py``). Without
    ``area_reference`` (the API) the engine takes the first training image."""
    every = version_items(session, req.version.id)
    items = [it for it in every if it.media_type != "mask"]
    mask_of = mask_files(every)
    good = [it for it in items if it.label != "ng"]
    if len(good) < 2:
        raise PlatformError("Training needs at least {n} good or unlabelled images.", n=2)
    resolution = _int_option(req.options, "resolution", INSPECTION_DEFAULTS.resolution, RESOLUTIONS)
    target_frr = _target_frr(req.options)
    basis = str(req.options.get("threshold_basis") or "f1")
    if basis not in ("f1", "frr"):
        raise PlatformError("Bad value for {field}.", field="threshold_basis")
    config: dict[str, Any] = {
        "resolution": resolution,
        "target_frr": target_frr,
        # with labelled NG images the threshold is F1-optimal unless the target rate is asked for
        "use_defects": basis == "f1",
        "threads": 1,
        "min_bank_size": min(1000, 50 * len(good)),
    }
    area = area_options(req.options)
    if area:  # the part of each photo inspected (a crop, ignore boxes): it travels in the model file
        config["area"] = area.to_dict()
    reference = align_reference(req.options, items, area)
    if reference is not None:  # its data set path: the worker maps it to its working copy (tasks.py)
        config["align_reference"] = reference.path
    dataset = get_scoped(session, Dataset, req.version.dataset_id)
    model_name = str(req.options.get("model_name") or f"{dataset.name} inspection").strip()[:200]

    def ref(it: Any) -> dict[str, Any]:
        out = {"path": it.path, "sha256": it.sha256, "label": it.label}
        mark = defect_mark(it.label, it.box, it.mask_sha256, mask_of.get(it.id))
        if mark is not None and mark.mask_sha256:
            out["mask"] = {"sha256": mark.mask_sha256}
        elif mark is not None:  # the box drawn in the labeling page: the worker makes a mask of it
            out["box"] = mark.box
        return out

    params = {
        "items": [ref(it) for it in items],
        "store": req.store.url,  # the worker fetches the images through the store, on any machine
        "out": str(req.out_dir / "model.aion"),
        "out_ref": req.out_ref,
        "config": config,
    }
    meta = {"model_name": model_name, "dataset_version_id": req.version.id, "config": config}
    params["meta"] = meta
    return Prepared(
        params=params,
        name=f"{model_name} ← {dataset.name} v{req.version.number}",
        cpus=1.0,
        estimated_seconds=60.0 + 2.0 * len(items),
    )


def register_inspection_model(session: Session, ctx: OutcomeContext) -> dict[str, Any]:
    """Store the trained file in the registry as the next version of the named model."""
    params = ctx.job.spec["params"]
    meta = params["meta"]
    out = job_output(ctx.store, params.get("out_ref"), params["out"])
    if out is None:
        raise PlatformError("The job wrote no model file.")
    job_output(ctx.store, params.get("out_ref"), str(out) + ".report.json")
    version = session.get(DatasetVersion, meta["dataset_version_id"])
    model = modelregistry.get_or_create_model(
        session, ctx.job.company_id, meta["model_name"], "inspection", version.dataset_id if version else None
    )
    report_path = Path(str(out) + ".report.json")
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    mv = modelregistry.register_version(
        session,
        ctx.store,
        model,
        out,
        dataset_version_id=meta["dataset_version_id"],
        job_id=ctx.job.id,
        params=meta["config"],
        metrics=dict(ctx.job.metrics or {}),
        report=report,
        created_by=ctx.job.created_by,
    )
    modelregistry.set_alias(session, model, "candidate", mv.id)  # the newest version is the candidate
    return {"model_id": model.id, "model_version_id": mv.id, "model_version": mv.number}


register_kind(
    JobKindSpec(
        name="train_inspection",
        title="Train an inspection model",
        entrypoint="aion.platform.tasks:train_inspection",
        engine_kind=JobKind.TRAIN,
        dataset_kinds=("inspection_images",),
        prepare=prepare_train_inspection,
        on_success=register_inspection_model,
        option_fields=("model_name", "resolution", "target_frr"),
    )
)

import aion.process.kind  # noqa: E402, F401  (registers train_process)
