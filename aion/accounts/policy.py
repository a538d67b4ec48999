"""Who may see and do what: one place for the role rules of the accounts domain."""

from __future__ import annotations

from aion.accounts.errors import PermissionDenied
from aion.accounts.models import AGENCY_ROLES, ALL_COMPANY_ROLES, COMPANY_ROLES, Role, User
from aion.core.tenancy import Scope


def scope_for(user: User) -> Scope:
    """The companies whose records ``user`` may see.

    Program staff (admin, operator, consultant) see every company; company users see their
    own; evaluators, instructors and learners without a company see no company records
    (they reach applications and courses through their assignments).
    """
    if user.role in ALL_COMPANY_ROLES:
        return Scope(actor=user.email, all_companies=True, actor_id=user.id)
    ids = [user.company_id] if user.company_id is not None else []
    return Scope.for_companies(user.email, ids, actor_id=user.id)


def is_staff(user: User) -> bool:
    return user.role in ALL_COMPANY_ROLES


def can_create_company(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.OPERATOR)


def can_edit_company(user: User, company_id: int) -> bool:
    if user.role in (Role.ADMIN, Role.OPERATOR):
        return True
    return user.role == Role.COMPANY_ADMIN and user.company_id == company_id


def can_manage_users(user: User, company_id: int | None, role: Role | str | None = None) -> bool:
    """Admins manage everyone; a company admin manages the company roles of their company."""
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.COMPANY_ADMIN:
        return (
            company_id is not None
            and company_id == user.company_id
            and (role is None or Role(role) in COMPANY_ROLES)
        )
    return False


def can_view_users(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.OPERATOR, Role.COMPANY_ADMIN)


def can_view_audit(user: User) -> bool:
    return user.role == Role.ADMIN


def check_membership(role: Role, company_id: int | None) -> None:
    """Company roles need a company; agency roles must not have one."""
    if role in COMPANY_ROLES and company_id is None:
        raise PermissionDenied("Role {role} needs a company.", role=role.value)
    if role in AGENCY_ROLES and company_id is not None:
        raise PermissionDenied("Role {role} belongs to an agency, not a company.", role=role.value)


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("You do not have permission to do this.")
