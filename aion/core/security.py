"""Password hashing (argon2id) and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def configure_hasher(time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4) -> None:
    """Change the argon2 cost for new hashes (tests use a cheap one; defaults are argon2's)."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


TOKEN_PREFIX = "aion_"
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """Hash with argon2id (salted; parameters travel in the hash)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises on a bad or foreign hash.

    >>> h = hash_password("correct horse battery")
    >>> verify_password(h, "correct horse battery"), verify_password(h, "wrong")
    (True, False)
    """
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """A reason the password is too weak (message key), or None.

    >>> password_problem("short"), password_problem("long enough passphrase")
    ('Password must be at least 10 characters.', None)
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return "Password must be at least 10 characters."
    if password.strip() != password or not password.strip():
        return "Password must not start or end with spaces."
    return None


def new_password() -> str:
    """A random password for generated accounts (printed once)."""
    return secrets.token_urlsafe(12)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
