"""Pages of the accounts domain: login, dashboard, users, my account, audit log.

The company pages are in :mod:`aion.accounts.web_companies`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from aion.accounts import policy, service
from aion.accounts.errors import AccountsError
from aion.accounts.models import Company, Role, User
from aion.core import audit
from aion.core.audit import AuditLog
from aion.core.tenancy import get_scoped
from aion.i18n import LANGUAGES
from aion.web.cookies import LANG_COOKIE, SESSION_COOKIE, SessionData
from aion.web.dashboard import panels_for
from aion.web.deps import CurrentUser, OptionalUser, SessionDep, verify_csrf
from aion.web.forms import redirect, safe_next
from aion.web.templating import render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
AUDIT_PAGE = 50


def set_login_cookie(request: Request, response: Response, user: User) -> None:
    settings = request.app.state.settings
    value = request.app.state.signer.dump_session(SessionData(user.id, user.session_version))
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=settings.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def login_failure_message(result: service.LoginResult) -> tuple[int, str, dict[str, str]]:
    if result.outcome is service.LoginOutcome.LOCKED and result.locked_until is not None:
        until = result.locked_until.strftime("%H:%M UTC")
        return 423, "Too many failed logins. The account is locked until {until}.", {"until": until}
    if result.outcome is service.LoginOutcome.INACTIVE:
        return 403, "This account is disabled.", {}
    return 401, "Wrong e-mail or password.", {}


# -- login / logout / language -----------------------------------------------------------
@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str = "/") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "accounts/login.html", next=safe_next(next))


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    ip = request.client.host if request.client else None
    result = service.authenticate(session, email, password, ip=ip)
    if result.outcome is service.LoginOutcome.OK and result.user is not None:
        response = RedirectResponse(safe_next(next), status_code=303)
        set_login_cookie(request, response, result.user)
        if not request.cookies.get(LANG_COOKIE):
            response.set_cookie(LANG_COOKIE, result.user.language, samesite="lax", path="/")
        return response
    status, msgid, params = login_failure_message(result)
    session.commit()  # keep the failure count and audit rows even though we answer with an error
    return render(
        request,
        "accounts/login.html",
        status_code=status,
        next=safe_next(next),
        email=email,
        error=(msgid, params),
    )


@router.post("/logout")
def logout(request: Request, session: SessionDep, user: OptionalUser) -> Response:
    if user is not None:
        audit.record(session, "logout", "User", user.id, company_id=user.company_id)
    response = redirect("/login", "logged_out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/lang")
def switch_language(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    lang: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    lang = lang if lang in LANGUAGES else "ko"
    if user is not None and user.language != lang:
        user.language = lang
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


# -- dashboard ---------------------------------------------------------------------------
@router.get("/")
def dashboard(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    companies = service.list_companies(session)
    stats: dict[str, int] = {"companies": len(companies)}
    if policy.can_view_users(user):
        stats["users"] = session.scalar(select(func.count(User.id))) or 0
    recent: list[AuditLog] = []
    if policy.can_view_audit(user):
        stats["locked"] = (
            session.scalar(select(func.count(User.id)).where(User.locked_until.is_not(None))) or 0
        )
        recent = list(session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(8)))
    return render(
        request,
        "accounts/dashboard.html",
        user=user,
        companies=companies[:10],
        stats=stats,
        recent=recent,
        panels=panels_for(session, user),
    )


# -- users -------------------------------------------------------------------------------
@router.get("/users")
def users_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    policy.require(policy.can_view_users(user))
    return render(
        request,
        "accounts/users.html",
        users=service.list_users(session),
        can_add=policy.can_manage_users(user, user.company_id),  # not the operator: they view users
    )


@router.get("/users/new")
def user_new(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    policy.require(policy.can_manage_users(user, user.company_id))
    return render(request, "accounts/user_form.html", **_user_form_context(session, user))


def _user_form_context(session: SessionDep, user: User) -> dict[str, Any]:
    if user.role == Role.ADMIN:
        roles = list(Role)
        companies = service.list_companies(session)
    else:
        roles = [Role.COMPANY_ADMIN, Role.COMPANY_MEMBER]
        companies = [c for c in service.list_companies(session) if c.id == user.company_id]
    return {"roles": roles, "companies": companies, "values": {}}


@router.post("/users/new")
def user_create(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    email: Annotated[str, Form()],
    role: Annotated[str, Form()],
    password: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    company_id: Annotated[str, Form()] = "",
) -> Response:
    cid = int(company_id) if company_id.strip().isdigit() else None
    company = get_scoped(session, Company, cid) if cid is not None else None
    try:
        role_value = Role(role)
    except ValueError:
        role_value = None
    ctx = _user_form_context(session, user)
    ctx["values"] = {"email": email, "role": role, "name": name, "company_id": cid}
    if role_value is None:
        return render(request, "accounts/user_form.html", 400, errors=[f"role: {role}"], **ctx)
    policy.require(policy.can_manage_users(user, cid, role_value))
    try:
        created = service.create_user(session, email, role_value, password, name=name, company=company)
    except AccountsError as e:
        return render(
            request, "accounts/user_form.html", 400, errors=[e.localized(request.state.lang)], **ctx
        )
    return redirect(f"/users/{created.id}", "created")


@router.get("/users/{user_id}")
def user_detail(request: Request, session: SessionDep, user: CurrentUser, user_id: int) -> Response:
    target = get_scoped(session, User, user_id)
    if target.id != user.id:
        policy.require(policy.can_view_users(user))
    return render(
        request,
        "accounts/user_detail.html",
        target=target,
        can_unlock=policy.can_manage_users(user, target.company_id, target.role),
    )


@router.post("/users/{user_id}/unlock")
def user_unlock(session: SessionDep, user: CurrentUser, user_id: int) -> Response:
    target = get_scoped(session, User, user_id)
    policy.require(policy.can_manage_users(user, target.company_id, target.role))
    service.unlock(session, target)
    return redirect(f"/users/{target.id}", "unlocked")


# -- my account --------------------------------------------------------------------------
@router.get("/account")
def account_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return render(
        request, "accounts/account.html", user=user, tokens=service.list_tokens(session, user), new_token=None
    )


@router.post("/account/password")
def account_password(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    current: Annotated[str, Form()],
    new: Annotated[str, Form()],
    confirm: Annotated[str, Form()],
) -> Response:
    tokens = service.list_tokens(session, user)
    if new != confirm:
        return render(
            request,
            "accounts/account.html",
            400,
            user=user,
            tokens=tokens,
            new_token=None,
            password_error=("The new passwords do not match.", {}),
        )
    try:
        service.change_password(session, user, current, new)
    except AccountsError as e:
        return render(
            request,
            "accounts/account.html",
            400,
            user=user,
            tokens=tokens,
            new_token=None,
            password_error=(e.msgid, e.params),
        )
    response = redirect("/account", "password_changed")
    set_login_cookie(request, response, user)  # this session stays; others end
    return response


@router.post("/account/tokens")
def account_token_create(
    request: Request, session: SessionDep, user: CurrentUser, name: Annotated[str, Form()]
) -> Response:
    plain, _token = service.create_token(session, user, name.strip() or "token")
    return render(
        request,
        "accounts/account.html",
        user=user,
        tokens=service.list_tokens(session, user),
        new_token=plain,
    )


@router.post("/account/tokens/{token_id}/revoke")
def account_token_revoke(session: SessionDep, user: CurrentUser, token_id: int) -> Response:
    service.revoke_token(session, user, token_id)
    return redirect("/account", "token_revoked")


# -- audit log ---------------------------------------------------------------------------
@router.get("/audit")
def audit_page(
    request: Request, session: SessionDep, user: CurrentUser, page: int = 1, action: str = ""
) -> Response:
    policy.require(policy.can_view_audit(user))
    page = max(page, 1)
    stmt = select(AuditLog).order_by(AuditLog.id.desc())
    if action:
        stmt = stmt.where(AuditLog.action.startswith(action))
    rows = list(session.scalars(stmt.offset((page - 1) * AUDIT_PAGE).limit(AUDIT_PAGE + 1)))
    return render(
        request,
        "accounts/audit.html",
        rows=rows[:AUDIT_PAGE],
        page=page,
        has_next=len(rows) > AUDIT_PAGE,
        action=action,
    )
