"""ORM classes of the AI utilization platform: data sets, labels, jobs, quotas and the model registry.

Every company-owned row is :class:`~aion.core.tenancy.CompanyOwned`, so every query is filtered
to the reader's companies. Data set versions and model versions are immutable once written (the
services never update them); labels are rows with their author; aliases move and are audited.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from aion.core.db import Base, TimestampMixin, UTCDateTime, utcnow
from aion.core.tenancy import CompanyOwned


class DatasetKind(StrEnum):
    INSPECTION_IMAGES = "inspection_images"
    SENSOR_SERIES = "sensor_series"
    TABULAR = "tabular"


class LabelValue(StrEnum):
    OK = "ok"
    NG = "ng"
    EVENT = "event"  # a time range on a sensor series: box = [start, 0, end, 1], fractions of the series


class Dataset(CompanyOwned, TimestampMixin, Base):
    """A company's data set: a name, a kind, and a list of immutable versions."""

    __tablename__ = "platform_datasets"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(255), default="")

    versions: Mapped[list[DatasetVersion]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.number"
    )


class DatasetVersion(CompanyOwned, Base):
    """One immutable snapshot: its items, counts and the SHA-256 of its manifest."""

    __tablename__ = "platform_dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("platform_datasets.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_dataset_versions.id", ondelete="SET NULL"), nullable=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # validation report of the upload
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="versions")


class DatasetItem(CompanyOwned, Base):
    """A file of a version: its path in the set, content hash, size and label (if any)."""

    __tablename__ = "platform_dataset_items"
    __table_args__ = (UniqueConstraint("version_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("platform_dataset_versions.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(64), default="")
    label: Mapped[str | None] = mapped_column(String(16), nullable=True)
    label_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # defect region [x0, y0, x1, y1] as fractions of the image
    box: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    # SHA-256 of the defect mask painted in the labeling page (a binary PNG blob; ``masks.py``)
    mask_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    events: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)  # sensor events


class Label(CompanyOwned, Base):
    """One labelling act on an item (several labellers; the latest per item counts)."""

    __tablename__ = "platform_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("platform_dataset_items.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("platform_dataset_versions.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str] = mapped_column(String(16))
    box: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)  # [x0, y0, x1, y1], 0..1
    mask_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # a painted mask
    author_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    author: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlobRef(CompanyOwned, Base):
    """The company references this blob (charged once against its storage quota)."""

    __tablename__ = "platform_blob_refs"
    __table_args__ = (UniqueConstraint("company_id", "sha256"),)
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlatformQuota(CompanyOwned, TimestampMixin, Base):
    """A company's storage quota and compute policy (set by the center admin)."""

    __tablename__ = "platform_quotas"
    __table_args__ = (UniqueConstraint("company_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    max_concurrent_jobs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cpu_hours_per_month: Mapped[float | None] = mapped_column(Float, nullable=True)
    gpu_hours_per_month: Mapped[float | None] = mapped_column(Float, nullable=True)


class JobRecord(CompanyOwned, Base):
    """A job on shared compute, persisted field by field so it survives a restart.

    Progress updates are frequent and not audited; submission and cancellation are recorded
    as audit events by the service.
    """

    __tablename__ = "platform_jobs"
    __audit__ = False

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))  # job-kind registry name, e.g. "train_inspection"
    name: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_at: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    preemptions: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    not_before: Mapped[float] = mapped_column(Float, default=0.0)
    node: Mapped[str | None] = mapped_column(String(100), nullable=True)
    handle: Mapped[str | None] = mapped_column(String(200), nullable=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    cpu_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    gpu_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(255), default="")
    outcome_done: Mapped[bool] = mapped_column(Boolean, default=False)  # kind's on-success hook ran
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. {"model_version_id": 3}
    last_log: Mapped[str] = mapped_column(Text, default="")  # log kept after the run is released


class JobUsage(CompanyOwned, Base):
    """CPU and GPU seconds a company used in a month (pieces appended by the scheduler)."""

    __tablename__ = "platform_job_usage"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    cpu_seconds: Mapped[float] = mapped_column(Float)
    gpu_seconds: Mapped[float] = mapped_column(Float)


class RegisteredModel(CompanyOwned, TimestampMixin, Base):
    """A named model of a company; its versions come from training jobs."""

    __tablename__ = "platform_models"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))  # "inspection", "process", ...
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_datasets.id", ondelete="SET NULL"), nullable=True
    )

    versions: Mapped[list[ModelVersion]] = relationship(order_by="ModelVersion.number")


class ModelVersion(CompanyOwned, Base):
    """One trained model file with its lineage (data set version, job), parameters and metrics."""

    __tablename__ = "platform_model_versions"
    __table_args__ = (UniqueConstraint("model_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("platform_models.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    dataset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_dataset_versions.id", ondelete="SET NULL"), nullable=True
    )
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelAlias(CompanyOwned, TimestampMixin, Base):
    """``production`` / ``candidate`` pointing at one version; every move is audited."""

    __tablename__ = "platform_model_aliases"
    __table_args__ = (UniqueConstraint("model_id", "alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("platform_models.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[int] = mapped_column(ForeignKey("platform_model_versions.id", ondelete="CASCADE"))


class AliasEvent(CompanyOwned, Base):
    """History of alias moves: what rollback goes back to."""

    __tablename__ = "platform_alias_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("platform_models.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[int] = mapped_column(Integer)
    previous_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(16))  # promote | rollback
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OnMachine:
    """A model version assigned to one machine of one of the company's lines (one row per machine)."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # a constraint of each table's own
        return (UniqueConstraint("machine_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("platform_models.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("platform_model_versions.id", ondelete="CASCADE"))
    line_id: Mapped[int] = mapped_column(ForeignKey("line_lines.id", ondelete="CASCADE"), index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("line_machines.id", ondelete="CASCADE"))


class Deployment(OnMachine, CompanyOwned, TimestampMixin, Base):
    """A model version serving one machine of one of the company's lines (one per machine).

    Redeploying replaces the row (audited with before/after); the line runtime reads the
    machine's model from the line's folder (``models/deployed.json``), written with the row.
    """

    __tablename__ = "platform_deployments"

    deployed_by: Mapped[str] = mapped_column(String(255), default="")


class ModelTrial(OnMachine, CompanyOwned, TimestampMixin, Base):
    """An inspection model version on trial beside a machine's model (one trial per machine).

    The line's station scores the camera's photos with it too, without acting on its calls (no
    alarm, no reject, no heat map); the photos page counts where it agrees with the station and
    with people's verdicts, and how fast it runs on the line PC, before it is promoted and
    deployed. The line reads it from ``models/deployed.json`` (``trials``), written with the row.
    """

    __tablename__ = "platform_model_trials"

    started_by: Mapped[str] = mapped_column(String(255), default="")
