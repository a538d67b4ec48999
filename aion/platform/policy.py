"""Who may do what on the platform: one place for the role rules."""

from __future__ import annotations

from aion.accounts.errors import PermissionDenied
from aion.accounts.models import Role, User

EDITOR_STAFF = frozenset({Role.ADMIN, Role.OPERATOR})
COMPANY_EDITORS = frozenset({Role.COMPANY_ADMIN, Role.COMPANY_MEMBER})


def can_edit(user: User, company_id: int) -> bool:
    """Upload, label, train, promote: the company's own users, and program admins/operators."""
    if user.role in EDITOR_STAFF:
        return True
    return user.role in COMPANY_EDITORS and user.company_id == company_id


def can_deploy(user: User, company_id: int) -> bool:
    """Deploy to a line, try a version on it, roll a deployed version back: whoever may edit both
    the company's models and its lines (company admins, staff)."""
    from aion.line import policy as line_policy

    return can_edit(user, company_id) and line_policy.can_edit(user, company_id)


def can_admin_compute(user: User) -> bool:
    """Quotas and usage of every company: the computing center administrator."""
    return user.role == Role.ADMIN


def creatable_company_ids(user: User) -> list[int] | None:
    """Companies the user may create data sets for (``None``: any company, chosen in the form)."""
    if user.role in EDITOR_STAFF:
        return None
    if user.role in COMPANY_EDITORS and user.company_id is not None:
        return [user.company_id]
    return []


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("You do not have permission to do this.")
