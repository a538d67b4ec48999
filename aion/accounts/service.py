"""Accounts use cases: companies, users, login with lock-out, passwords, API tokens.

Functions take a session already bound to a scope (see :mod:`aion.core.tenancy`) and the
acting user where a permission applies; they never commit (the caller owns the transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aion.accounts import policy
from aion.accounts.errors import AccountsError
from aion.accounts.models import Agency, ApiToken, Company, Role, User
from aion.accounts.schemas import CompanyCreate, CompanyUpdate
from aion.core import audit
from aion.core.db import utcnow
from aion.core.security import (
    hash_password,
    needs_rehash,
    new_token,
    password_problem,
    token_digest,
    verify_password,
)
from aion.core.tenancy import NotFound
from aion.settings import get_settings

UNSCOPED = {"aion_unscoped": True}
_DUMMY_HASH = hash_password("dummy password for timing")


# -- companies ---------------------------------------------------------------------------
def create_company(session: Session, data: CompanyCreate) -> Company:
    exists = session.scalar(select(Company.id).where(Company.brn == data.brn).execution_options(**UNSCOPED))
    if exists is not None:
        raise AccountsError("A company with business registration number {brn} already exists.", brn=data.brn)
    company = Company(**data.model_dump())
    session.add(company)
    session.flush()
    return company


def update_company(session: Session, company: Company, data: CompanyUpdate) -> Company:
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(company, key, value)
    session.flush()
    return company


def company_by_name(session: Session, name: str) -> Company:
    company = session.scalar(select(Company).where(Company.name == name))
    if company is None:
        raise AccountsError("No company named {name}.", name=name)
    return company


def list_companies(session: Session, query: str = "") -> list[Company]:
    stmt = select(Company).order_by(Company.name)
    if query:
        like = f"%{query.strip()}%"
        stmt = stmt.where(Company.name.ilike(like) | Company.brn.like(like) | Company.industry.ilike(like))
    return list(session.scalars(stmt))


# -- users -------------------------------------------------------------------------------
def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session,
    email: str,
    role: Role | str,
    password: str,
    *,
    name: str = "",
    company: Company | None = None,
    agency: Agency | None = None,
    language: str = "ko",
) -> User:
    role = Role(role)
    email = normalise_email(email)
    policy.check_membership(role, company.id if company else None)
    problem = password_problem(password)
    if problem:
        raise AccountsError(problem)
    taken = session.scalar(
        select(User.id).where(func.lower(User.email) == email).execution_options(**UNSCOPED)
    )
    if taken is not None:
        raise AccountsError("A user with e-mail {email} already exists.", email=email)
    user = User(
        email=email,
        name=name,
        role=role.value,
        password_hash=hash_password(password),
        company_id=company.id if company else None,
        agency_id=agency.id if agency else None,
        language=language,
    )
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def change_password(session: Session, user: User, old: str, new: str) -> None:
    if not verify_password(user.password_hash, old):
        raise AccountsError("The current password is wrong.")
    problem = password_problem(new)
    if problem:
        raise AccountsError(problem)
    user.password_hash = hash_password(new)
    user.session_version += 1  # other sessions of this user end
    session.flush()


def set_password(session: Session, user: User, new: str) -> None:
    problem = password_problem(new)
    if problem:
        raise AccountsError(problem)
    user.password_hash = hash_password(new)
    user.session_version += 1
    session.flush()


def unlock(session: Session, user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, "user.unlock", "User", user.id, company_id=user.company_id)
    session.flush()


# -- login -------------------------------------------------------------------------------
class LoginOutcome(Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    locked_until: datetime | None = None


def authenticate(session: Session, email: str, password: str, ip: str | None = None) -> LoginResult:
    """Check a password; count failures and lock the account after too many in a row."""
    settings = get_settings()
    email = normalise_email(email)
    user = session.scalar(select(User).where(func.lower(User.email) == email).execution_options(**UNSCOPED))
    now = utcnow()
    if user is None:
        verify_password(_DUMMY_HASH, password)  # same time as a real check
        audit.record(session, "login.failed", "User", None, actor=email, detail={"reason": "unknown"}, ip=ip)
        return LoginResult(LoginOutcome.WRONG)
    company_id = user.company_id
    if user.locked_until is not None and user.locked_until > now:
        audit.record(
            session,
            "login.refused_locked",
            "User",
            user.id,
            actor=email,
            actor_id=user.id,
            company_id=company_id,
            ip=ip,
        )
        return LoginResult(LoginOutcome.LOCKED, user, user.locked_until)
    if user.locked_until is not None:  # the lock expired
        user.locked_until = None
        user.failed_logins = 0
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        detail = {"reason": "password", "failed_in_a_row": user.failed_logins}
        audit.record(
            session,
            "login.failed",
            "User",
            user.id,
            actor=email,
            actor_id=user.id,
            company_id=company_id,
            detail=detail,
            ip=ip,
        )
        if user.failed_logins >= settings.lockout_threshold:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            audit.record(
                session,
                "user.locked",
                "User",
                user.id,
                actor=email,
                actor_id=user.id,
                company_id=company_id,
                detail={"until": user.locked_until.isoformat()},
                ip=ip,
            )
            session.flush()
            return LoginResult(LoginOutcome.LOCKED, user, user.locked_until)
        session.flush()
        return LoginResult(LoginOutcome.WRONG, user)
    if not user.is_active:
        audit.record(
            session, "login.refused_inactive", "User", user.id, actor=email, company_id=company_id, ip=ip
        )
        return LoginResult(LoginOutcome.INACTIVE, user)
    user.failed_logins = 0
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(
        session, "login.success", "User", user.id, actor=email, actor_id=user.id, company_id=company_id, ip=ip
    )
    session.flush()
    return LoginResult(LoginOutcome.OK, user)


def load_user(session: Session, user_id: int) -> User | None:
    """Load a user for the session cookie (before any scope exists)."""
    return session.scalar(select(User).where(User.id == user_id).execution_options(**UNSCOPED))


# -- API tokens --------------------------------------------------------------------------
def create_token(session: Session, user: User, name: str, days: int | None = None) -> tuple[str, ApiToken]:
    """Create a token; the plain value is returned once and never stored."""
    plain = new_token()
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=plain[:12],
        token_hash=token_digest(plain),
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    return plain, token


def user_for_token(session: Session, plain: str) -> User | None:
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_digest(plain)).execution_options(**UNSCOPED)
    )
    now = utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    user = load_user(session, token.user_id)
    if user is None or not user.is_active:
        return None
    token.last_used_at = now
    return user


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(session: Session, user: User, token_id: int) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise NotFound("ApiToken", token_id)
    token.revoked_at = utcnow()
    session.flush()
