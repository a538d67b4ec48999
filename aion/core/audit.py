"""Audit log: who changed what, when, with the values before and after.

Recording is a mechanism: an ``after_flush`` hook writes one row per inserted, updated or
deleted ORM object in the same transaction as the change, with the actor taken from the
session's :class:`~aion.core.tenancy.Scope`. Events that are not row changes (logins,
lock-outs, write-backs to a line) are written with :func:`record`.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, event, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from aion.core.db import Base, UTCDateTime, utcnow
from aion.core.tenancy import SCOPE_KEY, Scope, TenantScoped

REDACTED = "***"


class AuditLog(TenantScoped, Base):
    """One audited event."""

    __tablename__ = "audit_log"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(255))
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), nullable=True, index=True
    )
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)

    @classmethod
    def tenant_column(cls) -> Any:
        return cls.company_id


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return REDACTED
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value


def _company_of(obj: Any) -> int | None:
    if obj.__class__.__name__ == "Company":
        return getattr(obj, "id", None)
    return getattr(obj, "company_id", None)


def _snapshot(obj: Any) -> dict[str, Any]:
    redact: frozenset[str] = getattr(obj, "__audit_redact__", frozenset())
    out: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        out[attr.key] = REDACTED if attr.key in redact else _plain(getattr(obj, attr.key))
    return out


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    redact: frozenset[str] = getattr(obj, "__audit_redact__", frozenset())
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old == new:
            continue
        before[attr.key] = REDACTED if attr.key in redact else _plain(old)
        after[attr.key] = REDACTED if attr.key in redact else _plain(new)
    return before, after


def _row(scope: Scope | None, action: str, obj: Any, before: Any, after: Any) -> dict[str, Any]:
    ident = inspect(obj).identity
    return {
        "at": utcnow(),
        "actor": scope.actor if scope else "unknown",
        "actor_id": scope.actor_id if scope else None,
        "company_id": _company_of(obj),
        "action": action,
        "entity": obj.__class__.__name__,
        "entity_id": str(ident[0]) if ident else None,
        "before": before,
        "after": after,
    }


@event.listens_for(Session, "after_flush")
def _audit_after_flush(session: Session, _ctx: Any) -> None:
    scope: Scope | None = session.info.get(SCOPE_KEY)
    rows: list[dict[str, Any]] = []
    for obj in session.new:
        if getattr(obj, "__audit__", True):
            rows.append(_row(scope, "create", obj, None, _snapshot(obj)))
    for obj in session.dirty:
        if not getattr(obj, "__audit__", True) or not session.is_modified(obj, include_collections=False):
            continue
        before, after = _changes(obj)
        ignored: frozenset[str] = getattr(obj, "__audit_ignore__", frozenset())
        if not set(after) - set(ignored):
            continue
        rows.append(_row(scope, "update", obj, before, after))
    for obj in session.deleted:
        if getattr(obj, "__audit__", True):
            rows.append(_row(scope, "delete", obj, _snapshot(obj), None))
    if rows:
        session.connection().execute(insert(AuditLog), rows)


def record(
    session: Session,
    action: str,
    entity: str,
    entity_id: object = None,
    *,
    company_id: int | None = None,
    actor: str | None = None,
    actor_id: int | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Write an event that is not a row change (login, lock-out, write-back...)."""
    scope: Scope | None = session.info.get(SCOPE_KEY)
    session.connection().execute(
        insert(AuditLog),
        [
            {
                "at": utcnow(),
                "actor": actor or (scope.actor if scope else "anonymous"),
                "actor_id": actor_id if actor_id is not None else (scope.actor_id if scope else None),
                "company_id": company_id,
                "action": action,
                "entity": entity,
                "entity_id": None if entity_id is None else str(entity_id),
                "before": None,
                "after": detail,
                "ip": ip,
            }
        ],
    )
