"""Test data made through the real services (a copy of the foundation factories: test packages are separate)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from aion.accounts import service
from aion.accounts.models import Role
from aion.accounts.schemas import CompanyCreate
from aion.core.db import system_session

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class World:
    company_a: int
    company_b: int
    users: dict[str, int]  # key -> user id
    emails: dict[str, str]


def make_world(engine: Engine) -> World:
    """Two companies, a member and an admin of each, and agency staff."""
    with system_session(engine, actor="tests") as s:
        a = service.create_company(
            s, CompanyCreate(name="알파정밀", brn="610-81-23454", industry="자동차 부품")
        )
        b = service.create_company(s, CompanyCreate(name="베타화학", brn="620-86-54323", industry="석유화학"))
        spec = {
            "admin": ("admin@test.example", Role.ADMIN, None),
            "operator": ("operator@test.example", Role.OPERATOR, None),
            "consultant": ("consultant@test.example", Role.CONSULTANT, None),
            "evaluator": ("evaluator@test.example", Role.EVALUATOR, None),
            "a_admin": ("admin@alpha.example", Role.COMPANY_ADMIN, a),
            "a_member": ("member@alpha.example", Role.COMPANY_MEMBER, a),
            "b_admin": ("admin@beta.example", Role.COMPANY_ADMIN, b),
            "b_member": ("member@beta.example", Role.COMPANY_MEMBER, b),
        }
        users = {}
        for key, (email, role, company) in spec.items():
            users[key] = service.create_user(s, email, role, PASSWORD, name=key, company=company).id
        return World(a.id, b.id, users, {k: v[0] for k, v in spec.items()})
