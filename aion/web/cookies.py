"""Signed cookies: the login session and the CSRF token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SESSION_COOKIE = "aion_session"
CSRF_COOKIE = "aion_csrf"
LANG_COOKIE = "aion_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class SessionData:
    user_id: int
    version: int


class CookieSigner:
    """Signs and verifies the session and CSRF cookies with the app's secret key."""

    def __init__(self, secret_key: str, max_age_s: int) -> None:
        self.max_age_s = max_age_s
        self._session = URLSafeTimedSerializer(secret_key, salt="aion.session")
        self._csrf = URLSafeTimedSerializer(secret_key, salt="aion.csrf")

    def dump_session(self, data: SessionData) -> str:
        return self._session.dumps({"u": data.user_id, "v": data.version})

    def load_session(self, value: str | None) -> SessionData | None:
        if not value:
            return None
        try:
            raw = self._session.loads(value, max_age=self.max_age_s)
            return SessionData(int(raw["u"]), int(raw["v"]))
        except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError):
            return None

    def new_csrf(self) -> str:
        return self._csrf.dumps(secrets.token_urlsafe(24))

    def valid_csrf(self, value: str | None) -> bool:
        if not value:
            return False
        try:
            self._csrf.loads(value)
        except BadSignature:
            return False
        return True
