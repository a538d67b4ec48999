"""Who may do what with a line: view (by tenancy), edit and interlock, acknowledge alarms."""

from __future__ import annotations

from aion.accounts.models import ALL_COMPANY_ROLES, Role, User


def can_edit(user: User, company_id: int) -> bool:
    """Change tags and limits, enable or disable write-back: the company's admin or program admins."""
    if user.role in (Role.ADMIN, Role.OPERATOR):
        return True
    return user.role == Role.COMPANY_ADMIN and user.company_id == company_id


def can_acknowledge(user: User, company_id: int) -> bool:
    """Acknowledge an alarm: anyone of the company (the shop floor), and program staff."""
    return user.role in ALL_COMPANY_ROLES or user.company_id == company_id


def can_ingest(user: User, company_id: int) -> bool:
    """Post readings for a line (a gateway's API token): the company's users and program admins."""
    return user.role in (Role.ADMIN, Role.OPERATOR) or user.company_id == company_id
