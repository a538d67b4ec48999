"""Use cases of the process pages: sensor data sets, proposed normal period, trained models, alarms.

Every function takes the caller's tenant-scoped session (another company's ids are a 404).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.core.tenancy import NotFound
from aion.platform import datasets as ds_service
from aion.platform import modelregistry
from aion.platform.models import Dataset, DatasetItem, DatasetKind, JobRecord, ModelVersion, RegisteredModel
from aion.platform.storage.blobstore import BlobStore
from aion.process.chart import Chart, series_chart
from aion.process.engine import StoredScores
from aion.process.errors import ProcessWebError
from aion.process.kind import KIND, MODEL_KIND, table_items
from aion.solutions.process.alarms import Alarm, AlarmPolicy
from aion.solutions.process.errors import ProcessError
from aion.solutions.process.frame import LoadReport, SensorFrame
from aion.solutions.process.loading import load_sensor_file
from aion.solutions.process.model import propose_normal_period


def sensor_datasets(session: Session) -> list[Dataset]:
    stmt = select(Dataset).where(Dataset.kind == DatasetKind.SENSOR_SERIES).order_by(Dataset.name)
    return list(session.scalars(stmt))


def process_models(session: Session, dataset_id: int | None = None) -> list[RegisteredModel]:
    stmt = select(RegisteredModel).where(RegisteredModel.kind == MODEL_KIND)
    if dataset_id is not None:
        stmt = stmt.where(RegisteredModel.dataset_id == dataset_id)
    return list(session.scalars(stmt.order_by(RegisteredModel.name)))


def model_versions(session: Session, models: list[RegisteredModel]) -> dict[int, list[ModelVersion]]:
    return {m.id: modelregistry.versions(session, m.id) for m in models}


def training_jobs(session: Session, dataset_id: int, limit: int = 10) -> list[JobRecord]:
    versions = {v.id for v in ds_service.list_versions(session, dataset_id)}
    stmt = select(JobRecord).where(JobRecord.kind == KIND).order_by(JobRecord.submitted_at.desc())
    jobs = [j for j in session.scalars(stmt) if j.spec["params"]["meta"]["dataset_version_id"] in versions]
    return jobs[:limit]


def load_item(store: BlobStore, item: DatasetItem) -> tuple[SensorFrame, LoadReport]:
    """The sensor file of a data set item, loaded and cleaned (a bilingual error when unreadable)."""
    work = Path(tempfile.mkdtemp(prefix="aion-process-view-"))
    try:
        local = work / f"data{Path(item.path).suffix.lower() or '.csv'}"
        try:
            os.link(store.path(item.sha256), local)
        except OSError:
            shutil.copyfile(store.path(item.sha256), local)
        return load_sensor_file(local)
    except (ProcessError, ValueError) as e:  # named as the user uploaded it, not where it was staged
        reason = str(e).replace(str(local), item.path)
        raise ProcessWebError("The sensor file cannot be read: {reason}", reason=reason) from e
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dataclass
class DatasetView:
    dataset: Dataset
    items: list[DatasetItem]
    item: DatasetItem | None
    frame: SensorFrame | None
    report: LoadReport | None
    proposed: tuple[int, int] | None
    chart: Chart | None


def dataset_view(session: Session, store: BlobStore, dataset_id: int, item_id: int = 0) -> DatasetView:
    dataset = ds_service.get_dataset(session, dataset_id)
    if dataset.kind != DatasetKind.SENSOR_SERIES:
        raise ProcessWebError("This is not a sensor data set.")
    version = ds_service.latest_version(session, dataset.id)
    items = table_items(session, version.id) if version else []
    if not items:
        return DatasetView(dataset, [], None, None, None, None, None)
    item = next((it for it in items if it.id == item_id), items[0])
    frame, report = load_item(store, item)
    if len(frame) < 20 or not frame.columns:
        raise ProcessWebError("The sensor file has too few rows or no numeric sensor columns.")
    ts = None if frame.timestamps is None else [str(t) for t in frame.timestamps]
    chart = series_chart(frame.values, frame.columns, ts)
    proposed = propose_normal_period(frame)
    chart.band(*proposed, "normal")
    return DatasetView(dataset, items, item, frame, report, proposed, chart)


@dataclass
class AlarmView:
    model: RegisteredModel
    version: ModelVersion
    stored: StoredScores
    policy: AlarmPolicy
    alarms: list[Alarm]
    alarm_rows: int
    trained_target: float
    chart: Chart


def alarm_view(
    session: Session, store: BlobStore, model_id: int, version_id: int, target: float | None = None
) -> AlarmView:
    """Alarms of a trained version at ``target`` (its trained target when None), from stored scores."""
    model = modelregistry.get_model(session, model_id)
    version = modelregistry.get_version(session, model.id, version_id)
    sha = (version.report or {}).get("scores_sha256")
    if model.kind != MODEL_KIND or not sha:
        raise NotFound("process scores", version_id)
    stored = StoredScores.load(store.path(sha))
    policy, alarms, mask = stored.alarms(target)
    top = {c["sensor"] for a in alarms for c in a.contributions[:1]}
    chart = series_chart(
        stored.raw, stored.columns, stored.timestamps, stored.scores, policy.threshold, strong=top
    )
    chart.band(*stored.normal_period, "normal")
    for i, a in enumerate(alarms, 1):
        chart.band(a.start, a.end, "alarm", f"#{i}", f"alarm-{i}")
    return AlarmView(
        model, version, stored, policy, alarms, int(mask.sum()), float(stored.policy.target_far), chart
    )


def alarm_json(view: AlarmView, lang: str) -> dict[str, Any]:
    return {
        "target_far": view.policy.target_far,
        "threshold": view.policy.threshold,
        "alarm_rows": view.alarm_rows,
        "alarms": [
            {
                "start": a.start,
                "end": a.end,
                "start_time": a.start_time,
                "end_time": a.end_time,
                "peak_score": round(a.peak_score, 4),
                "message": a.message_ko if lang == "ko" else a.message_en,
                "sensors": [c["sensor"] for c in a.contributions],
                "contributions": a.contributions,
            }
            for a in view.alarms
        ],
    }
