"""``aion company``, ``aion user`` and ``aion token`` commands."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

app = typer.Typer()  # unused root, kept for symmetry
company_app = typer.Typer(no_args_is_help=True)
user_app = typer.Typer(no_args_is_help=True)
token_app = typer.Typer(no_args_is_help=True)


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@company_app.command("create")
def company_create(
    name: str,
    brn: str = typer.Option(..., "--brn", help="Business registration number (사업자등록번호)."),
    industry: str = typer.Option("", help="Industry."),
    size: str = typer.Option("small", help="micro, small, medium or large."),
    address: str = typer.Option("", help="Address."),
) -> None:
    """Create a company. / 회사를 등록합니다."""
    from aion.accounts import service
    from aion.accounts.errors import AccountsError
    from aion.accounts.schemas import CompanyCreate
    from aion.core.db import system_session

    try:
        data = CompanyCreate(name=name, brn=brn, industry=industry, size=size, address=address)
    except ValidationError as e:
        _fail("; ".join(str(err["msg"]).removeprefix("Value error, ") for err in e.errors()))
        return
    try:
        with system_session(actor="cli") as session:
            company = service.create_company(session, data)
            typer.echo(f"회사 등록됨 / Company created: {company.id} {company.name} ({company.brn})")
    except AccountsError as e:
        _fail(e.bilingual())


@company_app.command("list")
def company_list() -> None:
    """List companies."""
    from aion.accounts import service
    from aion.core.db import system_session

    with system_session(actor="cli") as session:
        for c in service.list_companies(session):
            typer.echo(f"{c.id}\t{c.brn}\t{c.name}\t{c.industry}")


@user_app.command("create")
def user_create(
    email: str,
    role: str = typer.Option(
        ...,
        "--role",
        help="admin, operator, consultant, evaluator, company_admin, company_member, instructor or learner.",
    ),
    company: str | None = typer.Option(None, "--company", help="Company name (company roles)."),
    name: str = typer.Option("", "--name"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
) -> None:
    """Create a user; prints a generated password unless --password-stdin. / 사용자를 만듭니다."""
    from aion.accounts import service
    from aion.accounts.errors import AccountsError
    from aion.accounts.models import Role
    from aion.core.db import system_session
    from aion.core.security import new_password

    try:
        role_value = Role(role)
    except ValueError:
        _fail(f"알 수 없는 역할 / Unknown role {role!r}; valid: {', '.join(r.value for r in Role)}")
        return
    password = sys.stdin.readline().rstrip("\n") if password_stdin else new_password()
    try:
        with system_session(actor="cli") as session:
            org = service.company_by_name(session, company) if company else None
            user = service.create_user(session, email, role_value, password, name=name, company=org)
            typer.echo(f"사용자 생성됨 / User created: {user.id} {user.email} ({user.role})")
    except AccountsError as e:
        _fail(e.bilingual())
        return
    if not password_stdin:
        typer.echo(f"비밀번호 / Password (shown once): {password}")


@user_app.command("list")
def user_list() -> None:
    """List users."""
    from aion.accounts import service
    from aion.core.db import system_session

    with system_session(actor="cli") as session:
        for u in service.list_users(session):
            company = u.company.name if u.company else "-"
            locked = " LOCKED" if u.locked_until else ""
            typer.echo(f"{u.id}\t{u.email}\t{u.role}\t{company}{locked}")


@user_app.command("unlock")
def user_unlock(email: str) -> None:
    """Unlock an account locked by failed logins."""
    from sqlalchemy import select

    from aion.accounts import service
    from aion.accounts.models import User
    from aion.core.db import system_session

    with system_session(actor="cli") as session:
        user = session.scalar(select(User).where(User.email == service.normalise_email(email)))
        if user is None:
            _fail(f"사용자 없음 / No user {email!r}")
            return
        service.unlock(session, user)
        typer.echo(f"잠금 해제됨 / Unlocked: {user.email}")


@token_app.command("create")
def token_create(
    email: str, name: str = typer.Option("cli", "--name"), days: int | None = typer.Option(None, "--days")
) -> None:
    """Create a personal API token for a user (printed once). / API 토큰을 만듭니다."""
    from sqlalchemy import select

    from aion.accounts import service
    from aion.accounts.models import User
    from aion.core.db import system_session

    with system_session(actor="cli") as session:
        user = session.scalar(select(User).where(User.email == service.normalise_email(email)))
        if user is None:
            _fail(f"사용자 없음 / No user {email!r}")
            return
        plain, _ = service.create_token(session, user, name, days)
    typer.echo(plain)
