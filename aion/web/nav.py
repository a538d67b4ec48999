"""The main menu: one entry per page group, shown to the roles that may use it.

A domain adds its entries here (one line each), so the menu stays in one place.
"""

from __future__ import annotations

from typing import NamedTuple


class NavItem(NamedTuple):
    href: str
    msgid: str  # English catalog id, translated at render time
    roles: frozenset[str] | None = None  # None: every signed-in user


NAV: list[NavItem] = [
    NavItem("/", "Dashboard"),
    NavItem("/companies", "Companies"),
    NavItem("/users", "Users", frozenset({"admin", "operator", "company_admin"})),
    NavItem("/audit", "Audit log", frozenset({"admin"})),
    NavItem("/datasets", "Data sets"),
    NavItem("/jobs", "Jobs"),
    NavItem("/models", "Models"),
    NavItem("/process", "Process monitoring"),
    NavItem("/compute/admin", "Computing center", frozenset({"admin"})),
    NavItem("/lines", "Lines"),
    NavItem("/program", "Program"),
    NavItem("/program/reviews", "My reviews", frozenset({"evaluator"})),
    NavItem("/program/diagnoses", "Diagnosis", frozenset({"admin", "operator", "consultant"})),
    NavItem("/program/kpi", "KPIs", frozenset({"admin", "operator", "consultant"})),
    NavItem("/account", "My account"),
]


def items_for(role: str) -> list[NavItem]:
    """The entries ``role`` sees, in menu order.

    >>> [i.href for i in items_for("company_member")]
    ['/', '/companies', '/datasets', '/jobs', '/models', '/process', '/lines', '/program', '/account']
    """
    return [i for i in NAV if i.roles is None or role in i.roles]
