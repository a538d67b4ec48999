"""Who may do what in program operations (one place for the role rules)."""

from __future__ import annotations

from aion.accounts.models import COMPANY_ROLES, Role, User

STAFF = frozenset({Role.ADMIN, Role.OPERATOR, Role.CONSULTANT})


def can_manage_calls(user: User) -> bool:
    """Create and extend calls, assign evaluators, override exclusions, select."""
    return user.role in (Role.ADMIN, Role.OPERATOR)


def can_apply(user: User) -> bool:
    return user.role in COMPANY_ROLES and user.company_id is not None


def can_view_applications(user: User) -> bool:
    """Program staff see every application; company users their own (the scope does that)."""
    return user.role in STAFF or user.role in COMPANY_ROLES


def is_evaluator(user: User) -> bool:
    return user.role == Role.EVALUATOR


def can_assess(user: User) -> bool:
    """A consultant's assessment (any company)."""
    return user.role in STAFF


def can_self_assess(user: User, company_id: int) -> bool:
    return user.role in COMPANY_ROLES and user.company_id == company_id


def can_view_kpi(user: User) -> bool:
    return user.role in STAFF


def can_view_journey(user: User, company_id: int) -> bool:
    return user.role in STAFF or (user.role in COMPANY_ROLES and user.company_id == company_id)
