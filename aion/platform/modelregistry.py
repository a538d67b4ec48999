"""Model registry use cases: register a trained file, compare versions, move aliases, roll back.

Aliases (``production``, ``candidate``) point at versions; every move is an
:class:`~aion.platform.models.AliasEvent` (what rollback goes back to) and an audited row change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aion.core import audit
from aion.core.tenancy import NotFound, current_scope, get_scoped
from aion.platform.errors import PlatformError
from aion.platform.models import AliasEvent, ModelAlias, ModelVersion, RegisteredModel
from aion.platform.quota import DbStorageQuota
from aion.platform.storage.blobstore import BlobStore, hash_file

ALIASES = ("production", "candidate")


def get_or_create_model(
    session: Session, company_id: int, name: str, kind: str, dataset_id: int | None = None
) -> RegisteredModel:
    stmt = select(RegisteredModel).where(
        RegisteredModel.company_id == company_id, RegisteredModel.name == name
    )
    model = session.scalars(stmt).one_or_none()
    if model is None:
        model = RegisteredModel(company_id=company_id, name=name, kind=kind, dataset_id=dataset_id)
        session.add(model)
        session.flush()
    return model


def register_version(
    session: Session,
    store: BlobStore,
    model: RegisteredModel,
    file: Path,
    *,
    dataset_version_id: int | None,
    job_id: str | None,
    params: dict[str, Any],
    metrics: dict[str, Any],
    report: dict[str, Any] | None = None,
    created_by: str = "",
) -> ModelVersion:
    """Store the model file content-addressed and add it as the model's next version.

    The first version of a model becomes its ``candidate`` automatically. A file that would take
    the company over its storage quota is refused (:class:`QuotaExceeded`) before anything is
    stored; the versions already kept are untouched.
    """
    require_room(session, model.company_id, file)
    info = store.put_file(file)
    DbStorageQuota(session).charge(str(model.company_id), info.sha256, info.size)
    last = session.scalars(
        select(ModelVersion).where(ModelVersion.model_id == model.id).order_by(ModelVersion.number.desc())
    ).first()
    version = ModelVersion(
        company_id=model.company_id,
        model_id=model.id,
        number=(last.number if last else 0) + 1,
        dataset_version_id=dataset_version_id,
        job_id=job_id,
        params=params,
        metrics=metrics,
        report=report or {},
        sha256=info.sha256,
        size=info.size,
        filename=f"{model.name}-v{(last.number if last else 0) + 1}{file.suffix}",
        created_by=created_by or current_scope(session).actor,
    )
    session.add(version)
    session.flush()
    return version


def require_room(session: Session, company_id: int, *files: Path) -> None:
    """Raise :class:`QuotaExceeded` (naming used, new and allowed) unless the files not yet held
    by the company fit in its storage quota; a file it already holds costs nothing."""
    DbStorageQuota(session).require(company_id, {hash_file(f): f.stat().st_size for f in files})


def list_models(session: Session) -> list[RegisteredModel]:
    return list(session.scalars(select(RegisteredModel).order_by(RegisteredModel.name)))


def get_model(session: Session, model_id: int) -> RegisteredModel:
    return get_scoped(session, RegisteredModel, model_id)


def get_version(session: Session, model_id: int, version_id: int) -> ModelVersion:
    version = get_scoped(session, ModelVersion, version_id)
    if version.model_id != model_id:
        raise NotFound("ModelVersion", version_id)
    return version


def versions(session: Session, model_id: int) -> list[ModelVersion]:
    stmt = select(ModelVersion).where(ModelVersion.model_id == model_id).order_by(ModelVersion.number.desc())
    return list(session.scalars(stmt))


def aliases(session: Session, model_id: int) -> dict[str, int]:
    """Alias name -> version id."""
    rows = session.scalars(select(ModelAlias).where(ModelAlias.model_id == model_id))
    return {a.alias: a.version_id for a in rows}


def history(session: Session, model_id: int, limit: int = 30) -> list[AliasEvent]:
    stmt = (
        select(AliasEvent).where(AliasEvent.model_id == model_id).order_by(AliasEvent.id.desc()).limit(limit)
    )
    return list(session.scalars(stmt))


def _move(session: Session, model: RegisteredModel, alias: str, version_id: int, action: str) -> AliasEvent:
    row = session.scalars(
        select(ModelAlias).where(ModelAlias.model_id == model.id, ModelAlias.alias == alias)
    ).one_or_none()
    previous = row.version_id if row else None
    if row is None:
        row = ModelAlias(company_id=model.company_id, model_id=model.id, alias=alias, version_id=version_id)
        session.add(row)
    else:
        row.version_id = version_id
    event = AliasEvent(
        company_id=model.company_id,
        model_id=model.id,
        alias=alias,
        version_id=version_id,
        previous_version_id=previous,
        action=action,
        actor=current_scope(session).actor,
    )
    session.add(event)
    session.flush()
    return event


def set_alias(session: Session, model: RegisteredModel, alias: str, version_id: int) -> AliasEvent:
    """Point ``alias`` at a version of this model (promotion); audited."""
    if alias not in ALIASES:
        raise PlatformError("Unknown alias: {alias}", alias=alias)
    version = get_version(session, model.id, version_id)
    current = aliases(session, model.id).get(alias)
    if current == version.id:
        raise PlatformError("Version {n} already is {alias}.", n=version.number, alias=alias)
    event = _move(session, model, alias, version.id, "promote")
    audit.record(
        session,
        "model_promote",
        "RegisteredModel",
        model.id,
        company_id=model.company_id,
        detail={"alias": alias, "version": version.number, "previous_version_id": event.previous_version_id},
    )
    return event


def promote(session: Session, model: RegisteredModel, version_id: int) -> AliasEvent:
    """Make a version ``production`` (one click)."""
    return set_alias(session, model, "production", version_id)


def rollback(session: Session, model: RegisteredModel, alias: str = "production") -> AliasEvent:
    """Point ``alias`` back at the version it had before its latest promotion (one click); audited."""
    last = session.scalars(
        select(AliasEvent)
        .where(AliasEvent.model_id == model.id, AliasEvent.alias == alias, AliasEvent.action == "promote")
        .order_by(AliasEvent.id.desc())
    ).first()
    current = aliases(session, model.id).get(alias)
    if last is None or last.previous_version_id is None or current != last.version_id:
        raise PlatformError("There is no earlier {alias} version to roll back to.", alias=alias)
    target = last.previous_version_id
    event = _move(session, model, alias, target, "rollback")
    # the rolled-back promotion is spent: a second rollback goes further back, not forth
    last.action = "promote-undone"
    audit.record(
        session,
        "model_rollback",
        "RegisteredModel",
        model.id,
        company_id=model.company_id,
        detail={"alias": alias, "from_version_id": current, "to_version_id": target},
    )
    return event


def compare(versions_: list[ModelVersion]) -> dict[str, list[Any]]:
    """Metric and parameter names -> values per version, for a side-by-side table.

    >>> a = ModelVersion(number=1, metrics={"f1": 0.9}, params={"resolution": 64})
    >>> b = ModelVersion(number=2, metrics={"f1": 0.95, "auroc": 1.0}, params={"resolution": 128})
    >>> compare([a, b])["metrics.f1"], compare([a, b])["metrics.auroc"]
    ([0.9, 0.95], [None, 1.0])
    """
    keys: list[str] = []
    for v in versions_:
        for group in ("metrics", "params"):
            for k in getattr(v, group) or {}:
                key = f"{group}.{k}"
                if key not in keys:
                    keys.append(key)
    out: dict[str, list[Any]] = {}
    for key in sorted(keys, key=lambda k: (not k.startswith("metrics"), k)):
        group, _, name = key.partition(".")
        out[key] = [(getattr(v, group) or {}).get(name) for v in versions_]
    return out
