"""The job-kind registry: what a kind of job needs, runs, and leaves behind.

A kind is three pieces:

* ``prepare(session, req) -> Prepared``: in the web process, with the company's scoped session:
  checks the inputs (a data set version) and turns them into plain parameters for the worker;
* ``entrypoint``: ``"module:function"`` run by the executor (a worker process or a Ray actor) as
  ``function(ctx, **params)``; no database there, only files and the
  :class:`~aion.platform.compute.context.JobContext`;
* ``on_success(session, job) -> dict``: back in the web process (system session) after the run
  succeeded, e.g. registering the model file it wrote; the dict is kept as the job's outcome.

Other domains plug in the same way, one line each::

    from aion.platform.jobkinds import JobKindSpec, register_kind
    register_kind(JobKindSpec(name="train_process", title="Train a process model", ...))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from aion.platform.compute.jobs import JobKind
from aion.platform.errors import PlatformError

if TYPE_CHECKING:
    from aion.platform.models import DatasetVersion, JobRecord
    from aion.platform.storage.blobstore import BlobStore


@dataclass(frozen=True)
class PrepareRequest:
    """What a submitter gives: the data set version and free-form options (validated by the kind)."""

    company_id: int
    version: DatasetVersion
    options: dict[str, Any]
    store: BlobStore
    out_dir: Path  # a fresh folder for the job's output files

    @property
    def out_ref(self) -> str:
        """Where a worker names its outputs in the store (see :func:`publish_outputs`)."""
        return f"job-outputs/{self.out_dir.name}"


@dataclass(frozen=True)
class Prepared:
    params: dict[str, Any]
    name: str
    cpus: float = 1.0
    gpus: float = 0.0
    estimated_seconds: float = 600.0


@dataclass(frozen=True)
class OutcomeContext:
    job: JobRecord
    store: BlobStore


@dataclass(frozen=True)
class JobKindSpec:
    name: str  # stable id stored with the job, e.g. "train_inspection"
    title: str  # English catalog id shown on pages
    entrypoint: str
    engine_kind: JobKind
    dataset_kinds: tuple[str, ...]
    prepare: Callable[[Session, PrepareRequest], Prepared]
    on_success: Callable[[Session, OutcomeContext], dict[str, Any]] | None = None
    option_fields: tuple[str, ...] = field(default_factory=tuple)


KINDS: dict[str, JobKindSpec] = {}


def register_kind(spec: JobKindSpec) -> None:
    """Add (or replace) a job kind."""
    KINDS[spec.name] = spec


def get_kind(name: str) -> JobKindSpec:
    _load_builtin()
    try:
        return KINDS[name]
    except KeyError:
        raise PlatformError("Unknown job kind: {kind}", kind=name) from None


def all_kinds() -> dict[str, JobKindSpec]:
    """Every registered kind by name (built-in kinds loaded)."""
    _load_builtin()
    return dict(KINDS)


def kinds_for(dataset_kind: str) -> list[JobKindSpec]:
    _load_builtin()
    return [k for k in KINDS.values() if dataset_kind in k.dataset_kinds]


def _load_builtin() -> None:
    if "train_inspection" not in KINDS:
        import aion.platform.kinds  # noqa: F401  (registers the built-in kinds)
