"""Pydantic schemas of the platform's JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DatasetCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str = "inspection_images"
    description: str = ""
    company_id: int | None = None


class DatasetPublic(Public):
    id: int
    company_id: int
    name: str
    kind: str
    description: str
    created_by: str
    created_at: datetime


class VersionPublic(Public):
    id: int
    dataset_id: int
    number: int
    parent_id: int | None
    note: str
    item_count: int
    total_bytes: int
    counts: dict[str, Any]
    manifest_sha256: str
    report: dict[str, Any]
    created_by: str
    created_at: datetime


class ItemPublic(Public):
    id: int
    path: str
    sha256: str
    size: int
    media_type: str
    label: str | None
    label_by: str | None
    box: list[float] | None = None


class FoundPartPublic(BaseModel):
    """Where an inspection area that follows the part lies in one photo (``areapreview.py``)."""

    item_id: int
    path: str
    box: list[float]  # the crop there: left, top, right, bottom as fractions of the photo
    match: float  # correlation with the reference photo's part, -1 to 1
    weak: bool  # below the match training warns of
    angle: float = 0.0  # degrees the part turned from the reference's (counter-clockwise), with turn


class AreaPreviewPublic(BaseModel):
    photos: list[FoundPartPublic]


class UploadCreate(BaseModel):
    filename: str = Field(min_length=1, max_length=500)
    size: int = Field(ge=0)
    sha256: str | None = None


class UploadPublic(BaseModel):
    upload_id: str
    offset: int
    size: int | None
    filename: str


class VersionFromUploads(BaseModel):
    uploads: list[str] = Field(min_length=1, max_length=1000)
    note: str = ""
    skip_problems: bool = False  # skip files with problems of their own instead of refusing all


class LabelSet(BaseModel):
    value: str | None = None  # "ok", "ng", or null to clear
    box: list[float] | None = Field(default=None, min_length=4, max_length=4)


class LabelPublic(Public):
    id: int
    item_id: int
    value: str
    box: list[float] | None
    mask_sha256: str | None  # a painted defect mask: GET /datasets/items/{item_id}/mask
    author: str
    created_at: datetime


class JobCreate(BaseModel):
    kind: str = "train_inspection"
    dataset_id: int
    version_id: int
    options: dict[str, Any] = Field(default_factory=dict)


class JobPublic(Public):
    id: str
    company_id: int
    kind: str
    name: str
    state: str
    progress: float
    message: str
    error: str
    attempts: int
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    metrics: dict[str, Any]
    outcome: dict[str, Any]
    created_by: str


class ModelPublic(Public):
    id: int
    company_id: int
    name: str
    kind: str
    dataset_id: int | None


class ModelVersionPublic(Public):
    id: int
    model_id: int
    number: int
    dataset_version_id: int | None
    job_id: str | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    sha256: str
    size: int
    filename: str
    created_by: str
    created_at: datetime


class ModelDetail(BaseModel):
    model: ModelPublic
    versions: list[ModelVersionPublic]
    aliases: dict[str, int]


class AliasSet(BaseModel):
    version_id: int
    alias: str = "production"


class AliasRollback(BaseModel):
    alias: str = "production"


class DeploymentCreate(BaseModel):
    machine_id: int  # gets the model's production version (promote first, as on the model page)


class TrialCreate(BaseModel):
    machine_id: int
    version_id: int


class OnMachinePublic(Public):
    id: int
    model_id: int
    version_id: int
    line_id: int
    machine_id: int
    created_at: datetime
    updated_at: datetime


class DeploymentPublic(OnMachinePublic):
    deployed_by: str


class TrialPublic(OnMachinePublic):
    started_by: str
