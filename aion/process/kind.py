"""The ``train_process`` job kind: a process model from a sensor data set version, kept in the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from aion.core.tenancy import get_scoped
from aion.platform import modelregistry
from aion.platform.compute.jobs import JobKind
from aion.platform.datasets import version_items
from aion.platform.jobkinds import JobKindSpec, OutcomeContext, Prepared, PrepareRequest, register_kind
from aion.platform.models import Dataset, DatasetItem, DatasetVersion
from aion.platform.quota import DbStorageQuota
from aion.platform.storage.blobstore import BlobStore
from aion.platform.storage.factory import job_output
from aion.platform.validation import XLSX
from aion.process.errors import ProcessWebError

KIND = "train_process"
MODEL_KIND = "process"
TABLE_MEDIA = ("text/csv", "text/tab-separated-values", "application/parquet", XLSX)
MIN_NORMAL_ROWS = 10
KIND_TITLE = "Train a process model"


def table_items(session: Session, version_id: int) -> list[DatasetItem]:
    return [it for it in version_items(session, version_id) if it.media_type in TABLE_MEDIA]


def target_option(value: Any, default: float = 0.01) -> float:
    """A false-alarm target in (0, 0.3]: a share of normal rows allowed above the limit."""
    try:
        target = float(value if value not in (None, "") else default)
    except (TypeError, ValueError):
        raise ProcessWebError("Bad value for {field}.", field="target_far") from None
    if not 0.0 < target <= 0.3:
        raise ProcessWebError("The false-alarm target must be between 0.01% and 30%.")
    return target


def normal_option(options: dict[str, Any]) -> list[int] | None:
    start, end = options.get("normal_start"), options.get("normal_end")
    if start in (None, "") and end in (None, ""):
        return None
    try:
        a, b = int(str(start)), int(str(end))
    except (TypeError, ValueError):
        raise ProcessWebError("Bad value for {field}.", field="normal period") from None
    if a < 0 or b - a < MIN_NORMAL_ROWS:
        raise ProcessWebError("The normal period needs at least {n} rows.", n=MIN_NORMAL_ROWS)
    return [a, b]


def prepare_train_process(session: Session, req: PrepareRequest) -> Prepared:
    files = table_items(session, req.version.id)
    if not files:
        raise ProcessWebError("This version has no sensor table (CSV, TSV, Excel or Parquet).")
    wanted = req.options.get("item_id")
    item = next((it for it in files if str(it.id) == str(wanted)), files[0]) if wanted else files[0]
    config = {"target_far": target_option(req.options.get("target_far")), "centered": True}
    normal = normal_option(req.options)
    dataset = get_scoped(session, Dataset, req.version.dataset_id)
    model_name = str(req.options.get("model_name") or f"{dataset.name} process").strip()[:200]
    meta = {
        "model_name": model_name,
        "dataset_version_id": req.version.id,
        "item_id": item.id,
        "item_path": item.path,
        "config": config,
        "normal": normal,
    }
    params = {
        "blob": {"sha256": item.sha256},
        "store": req.store.url,
        "filename": item.path,
        "out": str(req.out_dir / "model.aion"),
        "scores_out": str(req.out_dir / "scores.npz"),
        "out_ref": req.out_ref,
        "normal": normal,
        "config": config,
        "meta": meta,
    }
    return Prepared(
        params=params,
        name=f"{model_name} ← {dataset.name} v{req.version.number}",
        cpus=1.0,
        estimated_seconds=30.0 + item.size / 100_000,
    )


def store_trained(
    session: Session,
    store: BlobStore,
    company_id: int,
    meta: dict[str, Any],
    files: tuple[Path, Path],
    metrics: dict[str, Any],
    job_id: str | None = None,
    created_by: str = "",
) -> dict[str, Any]:
    """A trained model file and its stored scores become the named model's next (candidate) version."""
    out, scores = files
    if not out.exists() or not scores.exists():
        raise ProcessWebError("The job wrote no model file.")
    version = session.get(DatasetVersion, meta["dataset_version_id"])
    model = modelregistry.get_or_create_model(
        session, company_id, meta["model_name"], MODEL_KIND, version.dataset_id if version else None
    )
    modelregistry.require_room(session, company_id, out, scores)  # refused before anything is stored
    info = store.put_file(scores)
    DbStorageQuota(session).charge(str(company_id), info.sha256, info.size)
    report_path = Path(str(out) + ".report.json")
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    report.update(scores_sha256=info.sha256, item_id=meta["item_id"], item_path=meta["item_path"])
    mv = modelregistry.register_version(
        session,
        store,
        model,
        out,
        dataset_version_id=meta["dataset_version_id"],
        job_id=job_id,
        params={**meta["config"], "normal": meta["normal"]},
        metrics=metrics,
        report=report,
        created_by=created_by,
    )
    modelregistry.set_alias(session, model, "candidate", mv.id)
    return {"model_id": model.id, "model_version_id": mv.id, "model_version": mv.number}


def register_process_model(session: Session, ctx: OutcomeContext) -> dict[str, Any]:
    """The job's on-success hook: register what :func:`aion.process.tasks.train_process` wrote."""
    params = ctx.job.spec["params"]
    ref = params.get("out_ref")  # fetched through the store when the worker ran on another machine
    out, scores = (job_output(ctx.store, ref, params[k]) for k in ("out", "scores_out"))
    job_output(ctx.store, ref, params["out"] + ".report.json")
    return store_trained(
        session,
        ctx.store,
        ctx.job.company_id,
        params["meta"],
        (out or Path(params["out"]), scores or Path(params["scores_out"])),
        dict(ctx.job.metrics or {}),
        ctx.job.id,
        ctx.job.created_by,
    )


register_kind(
    JobKindSpec(
        name=KIND,
        title=KIND_TITLE,
        entrypoint="aion.process.tasks:train_process",
        engine_kind=JobKind.TRAIN,
        dataset_kinds=("sensor_series",),
        prepare=prepare_train_process,
        on_success=register_process_model,
        option_fields=("model_name", "target_far", "normal_start", "normal_end", "item_id"),
    )
)
