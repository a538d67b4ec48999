"""ORM classes of program operations: calls, applications, review, diagnoses, support, KPIs, outbox.

Company-owned rows (applications, their files and information requests, diagnoses, support,
outcomes) are :class:`CompanyOwned`: the tenancy hook filters them by company. Calls are public
records of the agencies. Review assignments belong to an evaluator (who has no company scope):
evaluators reach an application only through their own assignment (see ``service.review``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aion.accounts.models import Agency, Company, User
from aion.core.db import Base, TimestampMixin, UTCDateTime, utcnow
from aion.core.tenancy import CompanyOwned, TenantScoped

TRACKS = ("diagnosis", "solution", "verification", "incubation", "academy")
APP_STATUSES = ("draft", "submitted", "decided")


class ProgramCall(TimestampMixin, Base):
    """A public call of one track, owned by one agency."""

    __tablename__ = "program_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    track: Mapped[str] = mapped_column(String(32))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    n_select: Mapped[int] = mapped_column(Integer)
    n_reserve: Mapped[int] = mapped_column(Integer, default=0)
    min_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    aggregation: Mapped[str] = mapped_column(String(16), default="mean")
    blind: Mapped[bool] = mapped_column(Boolean, default=False)
    blind_secret: Mapped[str] = mapped_column(String(64))
    eligibility: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    form_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list)
    rubric: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    extensions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    agency: Mapped[Agency] = relationship()


class Application(CompanyOwned, TimestampMixin, Base):
    """A company's application to a call: draft, submitted (with a receipt number), decided."""

    __tablename__ = "program_applications"
    __table_args__ = (UniqueConstraint("call_id", "company_id", name="uq_program_applications_call_company"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("program_calls.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    receipt_no: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    eligible: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    eligibility_notes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reserve_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    call: Mapped[ProgramCall] = relationship()
    company: Mapped[Company] = relationship()


class ApplicationFile(CompanyOwned, TimestampMixin, Base):
    """A required attachment of an application (stored in the database; small documents)."""

    __tablename__ = "program_application_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("program_applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class InfoRequest(CompanyOwned, TimestampMixin, Base):
    """An operator asks the applicant for more information; the applicant answers."""

    __tablename__ = "program_info_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("program_applications.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EvaluatorProfile(TimestampMixin, Base):
    """What the conflict rules need to know of an evaluator (organisation, past consulting)."""

    __tablename__ = "program_evaluator_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    organisation: Mapped[str] = mapped_column(String(200), default="")
    organisation_brn: Mapped[str] = mapped_column(String(12), default="")
    consulted: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{brn, year}]


class Assignment(TimestampMixin, Base):
    """One evaluator on one application: declaration, automatic findings, override, score sheet."""

    __tablename__ = "program_assignments"
    __table_args__ = (
        UniqueConstraint("application_id", "evaluator_id", name="uq_program_assignments_app_evaluator"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("program_calls.id", ondelete="CASCADE"), index=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("program_applications.id", ondelete="CASCADE"), index=True
    )
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    declared_conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    declaration_reason: Mapped[str] = mapped_column(Text, default="")
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{rule, ko, en}]
    override_reason: Mapped[str] = mapped_column(Text, default="")
    override_by: Mapped[str] = mapped_column(String(255), default="")
    entries: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # criterion -> {score, comment}
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    total: Mapped[float | None] = mapped_column(Float, nullable=True)

    evaluator: Mapped[User] = relationship()

    @property
    def excluded(self) -> bool:
        return self.declared_conflict or (bool(self.findings) and not self.override_reason)

    @property
    def state(self) -> str:
        """'declare' (before seeing anything), 'excluded', 'scoring' or 'submitted'."""
        if self.declared_at is None:
            return "declare"
        if self.excluded:
            return "excluded"
        return "submitted" if self.submitted_at is not None else "scoring"


class Moderation(TimestampMixin, Base):
    """An operator's decision on a flagged score: keep, exclude or rescore (reason mandatory)."""

    __tablename__ = "program_moderations"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("program_assignments.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Diagnosis(CompanyOwned, TimestampMixin, Base):
    """An AI-readiness assessment; the company's first one is its baseline."""

    __tablename__ = "program_diagnoses"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessor: Mapped[str] = mapped_column(String(16))  # "self" or "consultant"
    assessed_on: Mapped[date] = mapped_column(Date)
    answers: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    focus: Mapped[list[str]] = mapped_column(JSON, default=list)
    assessor_name: Mapped[str] = mapped_column(String(100), default="")
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    overall: Mapped[float] = mapped_column(Float)
    band_level: Mapped[int] = mapped_column(Integer)
    questionnaire_version: Mapped[int] = mapped_column(Integer, default=1)

    company: Mapped[Company] = relationship()
    agency: Mapped[Agency | None] = relationship()


class QuestionnaireVersion(TimestampMixin, Base):
    """An operator's edited copy of the readiness questionnaire; the highest version is in use."""

    __tablename__ = "program_questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(255), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class Support(CompanyOwned, TimestampMixin, Base):
    """Support a selected company receives (agreement to completion)."""

    __tablename__ = "program_support"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("program_applications.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    track: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer, index=True)
    category: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    amount_krw: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="agreed")  # agreed, in_progress, completed
    supplier: Mapped[str] = mapped_column(String(200), default="")
    agreement_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    agency: Mapped[Agency] = relationship()


SUPPORT_EVENTS = ("milestone", "deliverable", "payment", "visit")


class SupportEvent(CompanyOwned, TimestampMixin, Base):
    """A milestone, deliverable, payment or consultant visit (with notes) of one support."""

    __tablename__ = "program_support_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    support_id: Mapped[int] = mapped_column(ForeignKey("program_support.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    amount_krw: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    by: Mapped[str] = mapped_column(String(255), default="")


class Outcome(CompanyOwned, TimestampMixin, Base):
    """An outcome metric of one company and year: baseline, target, actual."""

    __tablename__ = "program_outcomes"
    __table_args__ = (
        UniqueConstraint("company_id", "year", "metric", name="uq_program_outcomes_company_year_metric"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(32))
    baseline: Mapped[float | None] = mapped_column(Float, nullable=True)
    target: Mapped[float | None] = mapped_column(Float, nullable=True)
    actual: Mapped[float | None] = mapped_column(Float, nullable=True)


class KpiTarget(TimestampMixin, Base):
    """A yearly KPI target for the program, an agency or a track."""

    __tablename__ = "program_kpi_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    indicator: Mapped[str] = mapped_column(String(32))
    target: Mapped[float] = mapped_column(Float)
    agency: Mapped[str | None] = mapped_column(String(50), nullable=True)
    track: Mapped[str | None] = mapped_column(String(32), nullable=True)


class OutboxMessage(TenantScoped, Base):
    """An e-mail to send; kept here when no SMTP server is configured (the outbox)."""

    __tablename__ = "program_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), nullable=True, index=True
    )
    to_addr: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, sent, failed
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")

    @classmethod
    def tenant_column(cls) -> Any:
        return cls.company_id
