"""The tenant scope is applied by the session itself, not by each query."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from aion.accounts.models import Company, User
from aion.core.db import session_factory
from aion.core.tenancy import NotFound, Scope, TenancyError, get_scoped

from .factories import World


def _session(engine: Engine, scope: Scope | None) -> Session:
    s = session_factory(engine)()
    if scope is not None:
        scope.bind(s)
    return s


def test_unscoped_session_refuses_queries(engine: Engine, world: World) -> None:
    with _session(engine, None) as s, pytest.raises(TenancyError):
        s.scalars(select(Company)).all()


def test_company_scope_filters_selects_and_joins(engine: Engine, world: World) -> None:
    for _ in range(2):  # alternate scopes to catch a cached criterion leaking between them
        for mine, other in ((world.company_a, world.company_b), (world.company_b, world.company_a)):
            with _session(engine, Scope.for_companies("t", [mine])) as s:
                assert [c.id for c in s.scalars(select(Company))] == [mine]
                users = s.scalars(select(User)).all()
                assert users and {u.company_id for u in users} == {mine}
                joined = s.execute(
                    select(User.email, Company.name).join(Company, User.company_id == Company.id)
                )
                assert {row.name for row in joined} == {s.get_one(Company, mine).name}
                with pytest.raises(NotFound):
                    get_scoped(s, Company, other)


def test_identity_map_does_not_bypass_scope(engine: Engine, world: World) -> None:
    with _session(engine, Scope.system()) as s:
        s.get(Company, world.company_b)  # now in the identity map
        Scope.for_companies("t", [world.company_a]).bind(s)
        with pytest.raises(NotFound):
            get_scoped(s, Company, world.company_b)


def test_orm_update_is_scoped(engine: Engine, world: World) -> None:
    with _session(engine, Scope.for_companies("t", [world.company_a])) as s:
        s.execute(update(Company).values(industry="changed"))
        s.commit()
    with _session(engine, Scope.system()) as s:
        rows = {c.id: c.industry for c in s.scalars(select(Company))}
    assert rows[world.company_a] == "changed"
    assert rows[world.company_b] != "changed"


def test_empty_scope_sees_nothing(engine: Engine, world: World) -> None:
    with _session(engine, Scope.for_companies("evaluator", [])) as s:
        assert s.scalars(select(Company)).all() == []
        assert s.scalars(select(User)).all() == []


def test_system_scope_sees_all(engine: Engine, world: World) -> None:
    with _session(engine, Scope.system()) as s:
        assert {c.id for c in s.scalars(select(Company))} == {world.company_a, world.company_b}
