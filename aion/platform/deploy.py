"""Deploy a promoted model version to a machine of one of the company's lines.

The registry keeps who deployed what where (:class:`~aion.platform.models.Deployment`, one row
per machine, audited); the line's folder gets the model file and ``models/deployed.json``, which
the line runtime follows without a restart: a process model scores the machine's readings
(:class:`~aion.line.scoring.DeployedScorer`), an inspection model the photos of the line's
camera whose readings are the machine's (``camera: <machine>``; :mod:`aion.line.station`).
Functions take the caller's scoped session and never commit; another company's model, line or
machine is a 404.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.core import audit
from aion.core.tenancy import NotFound, current_scope, get_scoped
from aion.line.models import Line, Machine
from aion.line.scoring import DEPLOYED
from aion.line.service import line_dir
from aion.line.stationspeed import SPEED_FILE, CameraSpeed, deployed_label, read_speeds
from aion.platform import modelregistry as reg
from aion.platform.errors import PlatformError
from aion.platform.models import Deployment, ModelTrial, ModelVersion, OnMachine, RegisteredModel
from aion.platform.storage.blobstore import BlobStore

DEPLOYABLE_KINDS = ("process", "inspection")


def machines(session: Session, company_id: int) -> list[Machine]:
    """The company's machines, line by line (what a model can be deployed to)."""
    stmt = (
        select(Machine)
        .join(Line, Machine.line_id == Line.id)
        .where(Line.company_id == company_id)
        .order_by(Line.name, Machine.name)
    )
    return list(session.scalars(stmt))


def deployments(session: Session, model_id: int) -> list[Deployment]:
    stmt = select(Deployment).where(Deployment.model_id == model_id).order_by(Deployment.id)
    return list(session.scalars(stmt))


def line_speeds(
    session: Session,
    data_dir: Path,
    model: RegisteredModel,
    rows: Sequence[OnMachine],
    file: str = SPEED_FILE,
) -> dict[int, CameraSpeed]:
    """For an inspection model's deployments (or, ``file=TRIAL_SPEED_FILE``, its trials): the
    speed its line's station measured for it on the line PC (machine id -> figures), where the
    station has scored photos with this very version."""
    if model.kind != "inspection":
        return {}
    out, by_line = {}, {}  # each line's figures read once
    for d in rows:
        machine, version = session.get(Machine, d.machine_id), session.get(ModelVersion, d.version_id)
        if machine is None or version is None:
            continue
        if machine.line_id not in by_line:
            by_line[machine.line_id] = read_speeds(line_dir(data_dir, machine.line), file)
        speed = by_line[machine.line_id].get(machine.name)
        if speed is not None and speed.model == deployed_label(model.name, version.number):
            out[d.machine_id] = speed
    return out


def _model_columns(store: BlobStore, version: ModelVersion) -> list[str]:
    from aion.solutions.process.model import ProcessModel

    return list(ProcessModel.load(store.path(version.sha256)).columns)


def _check_sensors(store: BlobStore, version: ModelVersion, machine: Machine) -> None:
    """A process model needs a tag of the machine for each of its sensors."""
    columns = _model_columns(store, version)
    tags = sorted(t.name for t in machine.tags)
    missing = [c for c in columns if c not in tags]
    if missing:
        raise PlatformError(
            "Machine {machine} has no tags for the model's sensors {missing} (its tags: {tags}).",
            machine=machine.name,
            missing=", ".join(missing),
            tags=", ".join(tags) or "-",
        )


def _check_camera(machine: Machine) -> None:
    """An inspection model needs a camera of the line whose photos are the machine's readings."""
    from aion.line.connectors.camera import camera_name

    sources = machine.line.sources or []
    if not any(
        s.get("kind") == "camera" and camera_name(str(s["name"]), str(s.get("camera") or "")) == machine.name
        for s in sources
    ):
        raise PlatformError(
            "No camera of line {line} takes photos for machine {machine}: give a camera source "
            "camera: {machine} in the line's configuration.",
            line=machine.line.name,
            machine=machine.name,
        )


def _machine(session: Session, model: RegisteredModel, machine_id: int) -> Machine:
    """One of the model's company's machines (a program admin's scope sees every company's)."""
    machine = get_scoped(session, Machine, machine_id)
    if machine.company_id != model.company_id:
        raise NotFound("Machine", machine_id)
    return machine


def deploy(
    session: Session,
    store: BlobStore,
    data_dir: Path,
    model: RegisteredModel,
    version: ModelVersion,
    machine_id: int,
) -> Deployment:
    """Deploy ``version`` (the model's production version) to the machine; audited."""
    machine = _machine(session, model, machine_id)
    if model.kind not in DEPLOYABLE_KINDS:
        raise PlatformError("Only process and inspection models can be deployed to a line machine.")
    if reg.aliases(session, model.id).get("production") != version.id:
        raise PlatformError("Promote this version to production before deploying it.")
    if model.kind == "inspection":
        _check_camera(machine)
    else:
        _check_sensors(store, version, machine)
    line = machine.line
    row = session.scalars(select(Deployment).where(Deployment.machine_id == machine.id)).one_or_none()
    before = {"model_id": row.model_id, "version_id": row.version_id} if row else None
    if row is None:
        row = Deployment(company_id=model.company_id, line_id=line.id, machine_id=machine.id)
        session.add(row)
    row.model_id, row.version_id = model.id, version.id
    row.deployed_by = current_scope(session).actor
    trial = _trial_row(session, machine.id)
    if trial is not None and trial.version_id == version.id:  # the version on trial is now the machine's
        session.delete(trial)
    session.flush()
    _audit(session, "model_deploy", machine, model, version.number, before=before)
    _write_line_models(session, store, line_dir(data_dir, line), line)
    return row


def undeploy(
    session: Session, store: BlobStore, data_dir: Path, model: RegisteredModel, machine_id: int
) -> None:
    """Take the model off the machine (the line's rules score it again); audited."""
    row = session.scalars(
        select(Deployment).where(Deployment.machine_id == machine_id, Deployment.model_id == model.id)
    ).one_or_none()
    if row is None:
        raise NotFound("Deployment", machine_id)
    machine = get_scoped(session, Machine, machine_id)
    line = machine.line
    version = session.get(ModelVersion, row.version_id)
    session.delete(row)
    session.flush()
    _audit(session, "model_undeploy", machine, model, version.number if version else None)
    _write_line_models(session, store, line_dir(data_dir, line), line)


def rollback(
    session: Session, store: BlobStore, data_dir: Path, model: RegisteredModel, alias: str, may_deploy: bool
) -> list[Deployment]:
    """Roll ``alias`` back (:func:`~aion.platform.modelregistry.rollback`); when it is production,
    the line machines running the version rolled back get the version it goes back to (each
    redeployment audited), so that one click undoes a bad version on the line too. Those machines
    need someone who may deploy (``may_deploy``): otherwise nothing changes and the error names them."""
    current = reg.aliases(session, model.id).get(alias)
    rows = (
        [d for d in deployments(session, model.id) if d.version_id == current]
        if alias == "production"
        else []
    )
    if rows and not may_deploy:
        names = sorted(m.name for d in rows if (m := session.get(Machine, d.machine_id)) is not None)
        raise PlatformError(
            "This version runs on line machines ({machines}): rolling it back takes them back too, "
            "which only whoever may deploy can do.",
            machines=", ".join(names),
        )
    event = reg.rollback(session, model, alias)
    version = session.get(ModelVersion, event.version_id)
    if version is None:
        raise NotFound("ModelVersion", event.version_id)
    return [deploy(session, store, data_dir, model, version, d.machine_id) for d in rows]


def trials(session: Session, model_id: int) -> list[ModelTrial]:
    """The model's versions on trial, machine by machine."""
    stmt = select(ModelTrial).where(ModelTrial.model_id == model_id).order_by(ModelTrial.id)
    return list(session.scalars(stmt))


def require_trial(session: Session, model: RegisteredModel, machine_id: int) -> None:
    """The model has a version on trial on the machine (``NotFound`` otherwise: another model's
    trial there is not this model's to end or adopt)."""
    if not any(t.machine_id == machine_id for t in trials(session, model.id)):
        raise NotFound("ModelTrial", machine_id)


def _trial_row(session: Session, machine_id: int) -> ModelTrial | None:
    return session.scalars(select(ModelTrial).where(ModelTrial.machine_id == machine_id)).one_or_none()


def start_trial(
    session: Session,
    store: BlobStore,
    data_dir: Path,
    model: RegisteredModel,
    version: ModelVersion,
    machine_id: int,
) -> ModelTrial:
    """Put any version of an inspection model on trial beside the machine's model (audited): the
    line's station scores the camera's photos with it too and acts on none of its calls. A trial
    already on the machine is replaced."""
    machine = _machine(session, model, machine_id)
    if model.kind != "inspection":
        raise PlatformError("Only inspection models can be tried beside a camera's model.")
    if version.model_id != model.id:
        raise NotFound("ModelVersion", version.id)
    _check_camera(machine)
    row = _trial_row(session, machine.id)
    if row is None:
        row = ModelTrial(company_id=model.company_id, line_id=machine.line_id, machine_id=machine.id)
        session.add(row)
    row.model_id, row.version_id = model.id, version.id
    row.started_by = current_scope(session).actor
    session.flush()
    _audit(session, "model_trial_start", machine, model, version.number)
    _write_line_models(session, store, line_dir(data_dir, machine.line), machine.line)
    return row


def end_trial(session: Session, store: BlobStore, data_dir: Path, machine_id: int) -> None:
    """Stop the machine's trial (audited); the station's records of it stay on the line PC."""
    machine = get_scoped(session, Machine, machine_id)
    row = _trial_row(session, machine.id)
    if row is None:
        raise NotFound("ModelTrial", machine_id)
    model = session.get(RegisteredModel, row.model_id)
    version = session.get(ModelVersion, row.version_id)
    session.delete(row)
    session.flush()
    if model is not None:
        _audit(session, "model_trial_end", machine, model, version.number if version else None)
    _write_line_models(session, store, line_dir(data_dir, machine.line), machine.line)


def adopt_trial(session: Session, store: BlobStore, data_dir: Path, machine_id: int) -> Deployment:
    """The version on trial becomes the model's production version and the machine's model
    (promoted and deployed, both audited); the trial ends."""
    machine = get_scoped(session, Machine, machine_id)
    row = _trial_row(session, machine.id)
    if row is None:
        raise NotFound("ModelTrial", machine_id)
    model = session.get(RegisteredModel, row.model_id)
    version = session.get(ModelVersion, row.version_id)
    if model is None or version is None:
        raise NotFound("ModelVersion", row.version_id)
    if reg.aliases(session, model.id).get("production") != version.id:
        reg.promote(session, model, version.id)
    return deploy(session, store, data_dir, model, version, machine.id)


def _audit(
    session: Session, action: str, machine: Machine, model: RegisteredModel, version: int | None, **extra: Any
) -> None:
    detail = {"line": machine.line.name, "machine": machine.name, "model": model.name, "version": version}
    audit.record(
        session, action, "Machine", machine.id, company_id=model.company_id, detail={**detail, **extra}
    )


def _entry(session: Session, store: BlobStore, models: Path, row: OnMachine) -> dict[str, Any] | None:
    """A deployment's or trial's entry in ``deployed.json`` (with ``machine``, its key), its model
    file copied beside it from the blob store (verified: the line needs no blob store)."""
    version = session.get(ModelVersion, row.version_id)
    machine = session.get(Machine, row.machine_id)
    model = session.get(RegisteredModel, row.model_id)
    if version is None or machine is None:
        return None
    name = f"{version.sha256}.aion"
    if not (models / name).exists():
        store.fetch(version.sha256, models / name)
    return {
        "machine": machine.name,
        "kind": model.kind if model else "process",
        "file": name,
        "sha256": version.sha256,
        "model": model.name if model else "",
        "version": version.number,
        "version_id": version.id,
    }


def _write_line_models(session: Session, store: BlobStore, folder: Path, line: Line) -> None:
    """The line's model files and ``deployed.json`` from its deployment rows (atomic replace)."""
    models = folder / DEPLOYED.parent
    entries: dict[str, Any] = {}
    for d in session.scalars(select(Deployment).where(Deployment.line_id == line.id)):
        entry = _entry(session, store, models, d)
        if entry is not None:
            entries[entry.pop("machine")] = {**entry, "deployed_by": d.deployed_by}
    trial_entries: dict[str, Any] = {}
    for t in session.scalars(select(ModelTrial).where(ModelTrial.line_id == line.id)):
        entry = _entry(session, store, models, t)
        if entry is not None:
            when = t.updated_at.timestamp()
            trial_entries[entry.pop("machine")] = {**entry, "started_by": t.started_by, "started_at": when}
    models.mkdir(parents=True, exist_ok=True)
    tmp = models / f".deployed-{uuid.uuid4().hex}.json"
    doc = {"line": line.key, "machines": entries, "trials": trial_entries}
    tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, folder / DEPLOYED)
    in_use = {e["file"] for e in [*entries.values(), *trial_entries.values()]}
    for old in models.glob("*.aion"):  # files no machine uses any more (a running line has loaded its own)
        if old.name not in in_use:
            old.unlink(missing_ok=True)
