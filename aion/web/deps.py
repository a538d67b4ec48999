"""Typed dependencies for route handlers: the database session and the current user.

``SessionDep`` is a session bound to the current user's tenant scope; ``CurrentUser`` is
the logged-in user (401 on the API, a redirect to the login page on pages).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from aion.accounts import service
from aion.accounts.models import User
from aion.accounts.policy import scope_for
from aion.core.tenancy import Scope
from aion.errors import AionError
from aion.web.cookies import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE


@dataclass(frozen=True)
class Viewer:
    """What page templates know of the logged-in user: plain values that outlive the session."""

    id: int
    email: str
    name: str
    role: str
    company_id: int | None
    language: str

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user.id, user.email, user.name, user.role, user.company_id, user.language)


class LoginRequired(AionError):
    """No valid session or token."""


class CsrfFailed(AionError):
    """A state-changing request without a valid CSRF token."""


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.sessionmaker()
    Scope.for_companies("anonymous", []).bind(session)
    try:
        _authenticate(request, session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _authenticate(request: Request, session: Session) -> None:
    user: User | None = None
    auth = request.headers.get("authorization", "")
    request.state.auth_method = None
    if auth.lower().startswith("bearer "):
        user = service.user_for_token(session, auth[7:].strip())
        if user is not None:
            request.state.auth_method = "token"
    else:
        data = request.app.state.signer.load_session(request.cookies.get(SESSION_COOKIE))
        if data is not None:
            candidate = service.load_user(session, data.user_id)
            if candidate is not None and candidate.is_active and candidate.session_version == data.version:
                user = candidate
                request.state.auth_method = "cookie"
    request.state.user = user
    request.state.viewer = Viewer.of(user) if user is not None else None
    if user is not None:
        scope_for(user).bind(session)
        if not request.cookies.get("aion_lang"):
            request.state.lang = user.language


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_current_user(request: Request, session: SessionDep) -> User:
    user: User | None = request.state.user
    if user is None:
        raise LoginRequired("login required")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def optional_user(request: Request, session: SessionDep) -> User | None:
    return request.state.user  # type: ignore[no-any-return]


OptionalUser = Annotated[User | None, Depends(optional_user)]

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


async def verify_csrf(request: Request) -> None:
    """Router dependency: every unsafe request from a form or browser carries the CSRF token.

    Requests authenticated by a bearer token, and JSON requests (which a cross-site form
    cannot send without a CORS preflight we never allow), are exempt.
    """
    if request.method not in UNSAFE:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    ctype = request.headers.get("content-type", "")
    if request.url.path.startswith("/api/") and ctype.startswith("application/json"):
        return
    expected = request.cookies.get("aion_csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and (
        ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    signer = request.app.state.signer
    if not expected or not sent or sent != expected or not signer.valid_csrf(sent):
        raise CsrfFailed("CSRF token missing or wrong")
