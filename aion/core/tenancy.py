"""Tenant isolation as a mechanism.

Every ORM class that belongs to a company derives from :class:`TenantScoped`. A session is
bound to a :class:`Scope` (who is asking and which companies they may see); a
``do_orm_execute`` hook then adds ``company_id IN (...)`` to every ORM SELECT, UPDATE and
DELETE that touches a tenant-scoped class, including joins and relationship loads. A
session with no scope refuses to run such queries at all, so forgetting the filter is an
error, not a leak. Trusted code (CLI, demo loader) uses ``Scope.system()`` explicitly.

``get_scoped`` replaces ``session.get`` (which may answer from the identity map without a
query) and turns "not yours" into the same 404 as "does not exist".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria
from sqlalchemy.sql.elements import ColumnElement

from aion.errors import AionError


class TenancyError(AionError):
    """A query on company-owned data was attempted without a scope."""


class NotFound(AionError):
    """The object does not exist, or the current user may not see it (same answer)."""

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident!r} not found")
        self.kind = kind
        self.ident = ident


SCOPE_KEY = "aion_scope"


@dataclass(frozen=True)
class Scope:
    """Who is asking, and which companies' data they may see.

    >>> Scope.for_companies("u@x", [3]).allows(3), Scope.for_companies("u@x", [3]).allows(4)
    (True, False)
    >>> Scope.system().allows(4)
    True
    """

    actor: str
    all_companies: bool = False
    company_ids: frozenset[int] = field(default_factory=frozenset)
    actor_id: int | None = None

    @classmethod
    def system(cls, actor: str = "system") -> Scope:
        return cls(actor=actor, all_companies=True)

    @classmethod
    def for_companies(cls, actor: str, company_ids: Iterable[int], actor_id: int | None = None) -> Scope:
        return cls(actor=actor, company_ids=frozenset(company_ids), actor_id=actor_id)

    def allows(self, company_id: int | None) -> bool:
        if self.all_companies:
            return True
        return company_id is not None and company_id in self.company_ids

    def bind(self, session: Session) -> Session:
        session.info[SCOPE_KEY] = self
        return session


def current_scope(session: Session) -> Scope:
    scope = session.info.get(SCOPE_KEY)
    if scope is None:
        raise TenancyError(
            "This session has no tenant scope: bind one with Scope.for_companies(...) or, "
            "for trusted code only, Scope.system()."
        )
    return scope  # type: ignore[no-any-return]


class TenantScoped:
    """Marker for rows visible by company. Subclasses say which column holds the company."""

    _subclasses: ClassVar[list[type[TenantScoped]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        TenantScoped._subclasses.append(cls)

    @classmethod
    def mapped_subclasses(cls) -> list[type[TenantScoped]]:
        return [c for c in cls._subclasses if "__mapper__" in vars(c) or hasattr(c, "__table__")]

    @classmethod
    def tenant_column(cls) -> ColumnElement[Any]:
        raise NotImplementedError


class CompanyOwned(TenantScoped):
    """Mixin for company-owned rows: a ``company_id`` column plus automatic scoping."""

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="RESTRICT"), index=True)

    @classmethod
    def tenant_column(cls) -> ColumnElement[Any]:
        return cls.company_id  # type: ignore[return-value]


def _apply_scope(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # criteria of the parent query propagate to these loads
    if state.execution_options.get("aion_unscoped", False):
        return
    scope = current_scope(state.session)
    if scope.all_companies:
        return
    ids = sorted(scope.company_ids) or [-1]
    state.statement = state.statement.options(
        *(
            with_loader_criteria(cls, cls.tenant_column().in_(ids), include_aliases=True)
            for cls in TenantScoped.mapped_subclasses()
        )
    )


def install(session_class: type[Session] = Session) -> None:
    """Install the scoping hook on ``session_class`` (idempotent)."""
    from sqlalchemy import event

    if not event.contains(session_class, "do_orm_execute", _apply_scope):
        event.listen(session_class, "do_orm_execute", _apply_scope)


T = TypeVar("T")


def get_scoped(session: Session, model: type[T], ident: int) -> T:
    """Load one object by primary key within the session's scope, else raise :class:`NotFound`."""
    pk = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    obj = session.scalars(
        select(model).where(pk == ident).execution_options(populate_existing=True)
    ).one_or_none()
    if obj is None:
        raise NotFound(model.__name__, ident)
    return obj


install()
