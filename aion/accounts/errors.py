"""Errors of the accounts domain."""

from __future__ import annotations

from aion.errors import AionError
from aion.i18n import LocalizedError


class AccountsError(LocalizedError, AionError):
    """Root of the accounts errors; the message is translated for the reader."""


class PermissionDenied(AccountsError):
    """The current user's role may not do this."""
