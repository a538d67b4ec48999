"""``aion demo load``: two demo companies, the consortium's agencies and a user per role.

Passwords are random and printed once. With ``--if-empty`` nothing happens when the
database already holds companies, so ``make run`` can call it every time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aion.accounts import service
from aion.accounts.models import Agency, Company, Role
from aion.accounts.schemas import CompanyCreate
from aion.core.security import new_password
from aion.line.demo import load_demo as load_line_demo
from aion.line.demo import load_station_demo
from aion.settings import get_settings

app = typer.Typer(no_args_is_help=True)

AGENCIES = [
    ("울산테크노파크", "UTP", True),
    ("울산정보산업진흥원", "UIPA", False),
    ("울산과학기술연구원", "USTI", False),
    ("울산대학교 산학협력단", "UOU", False),
    ("울산창업지원센터", "USC", False),
]

COMPANIES = [
    CompanyCreate(
        name="(주)한울오토파츠",
        brn="610-81-23454",
        industry="자동차 부품 (프레스·용접)",
        size="small",
        address="울산광역시 북구 효자로 100",
        contact_name="김민준",
        contact_email="mj.kim@hanul-auto.example",
        contact_phone="052-200-1000",
    ),
    CompanyCreate(
        name="태화석유화학(주)",
        brn="620-86-54323",
        industry="석유화학 (펌프·압축기)",
        size="medium",
        address="울산광역시 남구 석유화학단지로 200",
        contact_name="이서연",
        contact_email="sy.lee@taehwa-chem.example",
        contact_phone="052-270-2000",
    ),
]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    company: str
    password: str


def _users() -> list[tuple[str, Role, int | None, str]]:
    # (email, role, index into COMPANIES or None, name)
    return [
        ("admin@aion.example", Role.ADMIN, None, "관리자"),
        ("operator@aion.example", Role.OPERATOR, None, "박운영"),
        ("consultant@aion.example", Role.CONSULTANT, None, "최컨설"),
        ("evaluator@aion.example", Role.EVALUATOR, None, "정평가"),
        ("instructor@aion.example", Role.INSTRUCTOR, None, "한강사"),
        ("admin@hanul-auto.example", Role.COMPANY_ADMIN, 0, "김민준"),
        ("member@hanul-auto.example", Role.COMPANY_MEMBER, 0, "오현장"),
        ("admin@taehwa-chem.example", Role.COMPANY_ADMIN, 1, "이서연"),
        ("member@taehwa-chem.example", Role.COMPANY_MEMBER, 1, "윤설비"),
        ("learner@aion.example", Role.LEARNER, None, "강학습"),
    ]


def is_empty(session: Session) -> bool:
    return (session.scalar(select(func.count(Company.id))) or 0) == 0


def load(session: Session, data_dir: Path | None = None) -> list[DemoAccount]:
    """Create the demo records in ``session`` (a system session), their files under ``data_dir``
    (default: the settings'); returns the accounts made."""
    agencies = []
    for name, short, lead in AGENCIES:
        session.add(made := Agency(name=name, short_name=short, is_lead=lead))
        agencies.append(made)
    companies = [service.create_company(session, data) for data in COMPANIES]
    session.flush()
    load_line_demo(session, companies[1].id)  # the simulated pump line of the petrochemical company
    # the car-parts company's press line: a camera over its brackets, a station without a model yet
    load_station_demo(session, companies[0].id, data_dir or get_settings().data_dir)
    accounts = []
    for email, role, idx, name in _users():
        password = new_password()
        company = companies[idx] if idx is not None else None
        agency: Agency | None = agencies[0] if company is None and role != Role.LEARNER else None
        service.create_user(session, email, role, password, name=name, company=company, agency=agency)
        accounts.append(DemoAccount(email, role.value, company.name if company else "-", password))
    importlib.import_module("aion.platform.demo").load_demo(session, companies, data_dir)
    importlib.import_module("aion.program.demo").load_demo(session)
    importlib.import_module("aion.process.demo").load_demo(session, companies, data_dir)
    return accounts


@app.command("load")
def load_command(
    if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing when companies already exist."),
) -> None:
    """Load demo data and print the demo passwords once. / 데모 데이터를 불러옵니다."""
    from aion.core.db import system_session

    with system_session(actor="demo") as session:
        if not is_empty(session):
            if if_empty:
                typer.echo("데모 데이터가 이미 있습니다 / Demo data already present; nothing loaded.")
                return
            typer.echo("데이터베이스가 비어 있지 않습니다 / The database is not empty.", err=True)
            raise typer.Exit(1)
        accounts = load(session)
    typer.echo("데모 계정 (비밀번호는 지금 한 번만 표시됩니다) / Demo accounts (passwords shown once):")
    for a in accounts:
        typer.echo(f"  {a.email:<32} {a.role:<15} {a.company:<16} {a.password}")
