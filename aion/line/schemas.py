"""Input and output shapes of the line pages and API."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class TagUpdate(BaseModel):
    """What a person may change on a tag from the web page: unit and alarm limits."""

    unit: str = Field("", max_length=32)
    low: float | None = None
    high: float | None = None
    rate: float | None = Field(None, ge=0)
    deadband: float = Field(0.0, ge=0)

    @field_validator("low", "high", "rate", "deadband")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("유한한 숫자여야 함 / Must be a finite number")
        return v

    @model_validator(mode="after")
    def _order(self) -> TagUpdate:
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError("하한은 상한보다 작아야 함 / The low limit must be below the high limit")
        return self


class TagPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    unit: str
    source: str
    address: str
    low: float | None
    high: float | None
    rate: float | None
    deadband: float


class MachinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    model: str
    tags: list[TagPublic]


class LinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    company_id: int
    name: str
    description: str
    interlock_enabled: bool
    machines: list[MachinePublic] = []


class AlarmPublic(BaseModel):
    id: str
    tag: str
    rule: str
    severity: str
    message: str
    value: float
    count: int
    state: str
    raised_at: float
    acked_at: float | None
    acked_by: str
    cleared_at: float | None


class LiveSnapshot(BaseModel):
    """What the live page shows, pushed over SSE: current values and alarms."""

    at: float
    values: dict[str, dict[str, Any]]
    alarms: list[AlarmPublic]
    running: bool
    trends: dict[str, list[tuple[float, float]]] = {}


class PhotoPublic(BaseModel):
    """A photo the inspection station scored, as the API gives it (``key``: ``<ts_us>-<seq>``)."""

    key: str
    ts: float
    name: str
    score: float
    ng: bool  # the station's verdict
    label: str | None  # a person's verdict: ok, ng
    label_by: str
    in_dataset: bool


class StationSummaryPublic(BaseModel):
    hours: float
    photos: int
    ng: int
    false_rejects: int
    escapes: int
    confirmed_ng: int
    confirmed_ok: int
    last_hour: int


class CameraSpeedPublic(BaseModel):
    """The camera's model timed on the line PC (``host``) over its newest ``photos``."""

    model: str
    photos: int
    ms_median: float
    ms_p95: float
    ms_max: float
    per_hour: float
    measured_at: float
    host: str
    cpu: str


class PhotosPage(BaseModel):
    """A camera's photos, newest first; ``next`` is the ``before`` of the following page."""

    camera: str
    photos: list[PhotoPublic]
    next: str | None
    summary: StationSummaryPublic
    speed: CameraSpeedPublic | None = None


class ErrorsPublic(BaseModel):
    judged: int
    right: int
    false_rejects: int
    escapes: int


class ChangedPublic(BaseModel):
    key: str
    name: str
    label: str
    station_score: float
    model_score: float


class ComparisonPublic(BaseModel):
    """A model version against the station on the photos people judged (their verdicts as truth)."""

    model: str
    model_id: int
    station: ErrorsPublic
    candidate: ErrorsPublic
    changed: list[ChangedPublic]
    missing: int


class DisagreementPublic(BaseModel):
    name: str
    ts_us: int
    station: float
    trial: float
    label: str | None


class TrialPublic(BaseModel):
    """The camera's model version on trial: its calls beside the station's on the same photos,
    both against people's verdicts, and its speed on the line PC."""

    model: str
    model_id: int
    version_id: int
    started_by: str
    scored: int
    agree: int
    only_trial_ng: int
    only_station_ng: int
    busy: int
    unreadable: int
    station: ErrorsPublic
    trial: ErrorsPublic
    disagreements: list[DisagreementPublic]
    speed: CameraSpeedPublic | None


class PhotoLabelIn(BaseModel):
    camera: str
    key: str
    label: str  # ok, ng
