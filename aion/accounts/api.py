"""JSON API of the accounts domain (under /api; OpenAPI docs at /api/docs)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from aion.accounts import policy, service
from aion.accounts.models import Company, User
from aion.accounts.schemas import CompanyCreate, CompanyPublic, CompanyUpdate, LoginRequest, UserPublic
from aion.accounts.web import login_failure_message, set_login_cookie
from aion.core import audit
from aion.core.audit import AuditLog
from aion.core.tenancy import get_scoped
from aion.i18n import gettext
from aion.web.cookies import SESSION_COOKIE
from aion.web.deps import CurrentUser, OptionalUser, SessionDep, verify_csrf

router = APIRouter(prefix="/api", dependencies=[Depends(verify_csrf)])


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    company_id: int | None
    before: dict[str, object] | None
    after: dict[str, object] | None


@router.post("/auth/login", response_model=UserPublic, tags=["auth"])
def api_login(request: Request, session: SessionDep, body: LoginRequest) -> Response:
    """Log in with e-mail and password; sets the same session cookie as the login page."""
    ip = request.client.host if request.client else None
    result = service.authenticate(session, body.email, body.password, ip=ip)
    if result.outcome is service.LoginOutcome.OK and result.user is not None:
        response = JSONResponse(UserPublic.model_validate(result.user).model_dump(mode="json"))
        set_login_cookie(request, response, result.user)
        return response
    status, msgid, params = login_failure_message(result)
    session.commit()
    headers = {}
    if result.locked_until is not None:
        from aion.core.db import utcnow

        headers["Retry-After"] = str(max(1, int((result.locked_until - utcnow()).total_seconds())))
    return JSONResponse(
        {"detail": gettext(request.state.lang, msgid, **params)}, status_code=status, headers=headers
    )


@router.post("/auth/logout", status_code=204, tags=["auth"])
def api_logout(session: SessionDep, user: OptionalUser) -> Response:
    if user is not None:
        audit.record(session, "logout", "User", user.id, company_id=user.company_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=UserPublic, tags=["auth"])
def api_me(user: CurrentUser) -> User:
    return user


@router.get("/companies", response_model=list[CompanyPublic], tags=["companies"])
def api_companies(session: SessionDep, user: CurrentUser, q: str = "") -> list[Company]:
    return service.list_companies(session, q)


@router.post("/companies", response_model=CompanyPublic, status_code=201, tags=["companies"])
def api_company_create(session: SessionDep, user: CurrentUser, body: CompanyCreate) -> Company:
    policy.require(policy.can_create_company(user))
    return service.create_company(session, body)


@router.get("/companies/{company_id}", response_model=CompanyPublic, tags=["companies"])
def api_company(session: SessionDep, user: CurrentUser, company_id: int) -> Company:
    return get_scoped(session, Company, company_id)


@router.patch("/companies/{company_id}", response_model=CompanyPublic, tags=["companies"])
def api_company_update(
    session: SessionDep, user: CurrentUser, company_id: int, body: CompanyUpdate
) -> Company:
    company = get_scoped(session, Company, company_id)
    policy.require(policy.can_edit_company(user, company.id))
    return service.update_company(session, company, body)


@router.get("/users", response_model=list[UserPublic], tags=["users"])
def api_users(session: SessionDep, user: CurrentUser) -> list[User]:
    policy.require(policy.can_view_users(user))
    return service.list_users(session)


@router.get("/users/{user_id}", response_model=UserPublic, tags=["users"])
def api_user(session: SessionDep, user: CurrentUser, user_id: int) -> User:
    target = get_scoped(session, User, user_id)
    if target.id != user.id:
        policy.require(policy.can_view_users(user))
    return target


@router.get("/audit", response_model=list[AuditPublic], tags=["audit"])
def api_audit(session: SessionDep, user: CurrentUser, limit: int = 100) -> list[AuditLog]:
    policy.require(policy.can_view_audit(user))
    limit = min(max(limit, 1), 1000)
    return list(session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)))
