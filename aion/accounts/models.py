"""ORM classes of the accounts domain."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aion.core.db import Base, TimestampMixin, UTCDateTime
from aion.core.tenancy import TenantScoped


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    CONSULTANT = "consultant"
    EVALUATOR = "evaluator"
    COMPANY_ADMIN = "company_admin"
    COMPANY_MEMBER = "company_member"
    INSTRUCTOR = "instructor"
    LEARNER = "learner"


#: Roles of the operating agencies' staff (no company).
AGENCY_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.CONSULTANT, Role.EVALUATOR, Role.INSTRUCTOR})
#: Roles that require a company.
COMPANY_ROLES = frozenset({Role.COMPANY_ADMIN, Role.COMPANY_MEMBER})
#: Roles that see every company's records (program staff).
ALL_COMPANY_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.CONSULTANT})

SIZES = ("micro", "small", "medium", "large")


class Agency(TimestampMixin, Base):
    """An operating agency of the consortium (technopark, IT agency, institute...)."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    short_name: Mapped[str] = mapped_column(String(50), default="")
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)


class Company(TenantScoped, TimestampMixin, Base):
    """A company (tenant). One record per business registration number."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    brn: Mapped[str] = mapped_column(String(12), unique=True)
    industry: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[str] = mapped_column(String(20), default="small")
    address: Mapped[str] = mapped_column(String(300), default="")
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_email: Mapped[str] = mapped_column(String(255), default="")
    contact_phone: Mapped[str] = mapped_column(String(50), default="")

    users: Mapped[list[User]] = relationship(back_populates="company")

    @classmethod
    def tenant_column(cls) -> Any:
        return cls.id


class User(TenantScoped, TimestampMixin, Base):
    """A person who logs in. Belongs to a company, or to an agency, or (learners) to neither."""

    __tablename__ = "users"
    __audit_redact__ = frozenset({"password_hash"})
    __audit_ignore__ = frozenset({"failed_logins", "locked_until", "last_login_at", "updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32), index=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    language: Mapped[str] = mapped_column(String(5), default="ko")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    session_version: Mapped[int] = mapped_column(Integer, default=1)

    company: Mapped[Company | None] = relationship(back_populates="users")
    agency: Mapped[Agency | None] = relationship()

    @classmethod
    def tenant_column(cls) -> Any:
        return cls.company_id

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class ApiToken(TimestampMixin, Base):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __audit_redact__ = frozenset({"token_hash"})
    __audit_ignore__ = frozenset({"last_used_at", "updated_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()
