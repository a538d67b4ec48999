"""ORM classes of the line domain: lines, their machines and tags, owned by a company.

The database holds what a person configures (in the web app or with ``aion line apply``);
readings and alarms live in the line's time-series store (see :mod:`aion.line.store`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aion.core.db import Base, TimestampMixin, UTCDateTime, utcnow
from aion.core.tenancy import CompanyOwned


class Line(CompanyOwned, TimestampMixin, Base):
    """A production line of a company: its sources, machines, actions and store."""

    __tablename__ = "line_lines"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300), default="")
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notifications: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    store: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    buffer_max_mb: Mapped[float] = mapped_column(Float, default=256.0)
    interlock_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    interlock_by: Mapped[str] = mapped_column(String(255), default="")
    interlock_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    machines: Mapped[list[Machine]] = relationship(
        back_populates="line", cascade="all, delete-orphan", order_by="Machine.name"
    )

    @property
    def key(self) -> str:
        """The line's folder in the data directory: unique across companies."""
        return f"c{self.company_id}-{self.name}"


class Machine(CompanyOwned, Base):
    __tablename__ = "line_machines"
    __table_args__ = (UniqueConstraint("line_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("line_lines.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200), default="")

    line: Mapped[Line] = relationship(back_populates="machines")
    tags: Mapped[list[Tag]] = relationship(
        back_populates="machine", cascade="all, delete-orphan", order_by="Tag.name"
    )


class Tag(CompanyOwned, Base):
    """One measured value of a machine: where it comes from, how it is scaled, its limits."""

    __tablename__ = "line_tags"
    __table_args__ = (UniqueConstraint("machine_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("line_machines.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(32), default="")
    source: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    dtype: Mapped[str] = mapped_column(String(16), default="float32")
    byte_order: Mapped[str] = mapped_column(String(8), default="big")
    word_order: Mapped[str] = mapped_column(String(8), default="big")
    mode: Mapped[str] = mapped_column(String(16), default="subscribe")
    scale: Mapped[float] = mapped_column(Float, default=1.0)
    offset: Mapped[float] = mapped_column(Float, default=0.0)
    low: Mapped[float | None] = mapped_column(Float, nullable=True)
    high: Mapped[float | None] = mapped_column(Float, nullable=True)
    rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    deadband: Mapped[float] = mapped_column(Float, default=0.0)

    machine: Mapped[Machine] = relationship(back_populates="tags")

    @property
    def full_name(self) -> str:
        return f"{self.machine.name}.{self.name}"


class PhotoLabel(CompanyOwned, Base):
    """A person's OK/NG verdict on a photo the line's inspection station scored (the reading
    ``tag`` at ``ts_us``/``seq`` in the line's store): the latest verdict per photo counts, and
    once the photo is added to a data set, the version it went into."""

    __tablename__ = "line_photo_labels"
    __table_args__ = (UniqueConstraint("line_id", "tag", "ts_us", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("line_lines.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(130))
    ts_us: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    ref: Mapped[str] = mapped_column(String(1000))  # the photo's path on the line's PC
    score: Mapped[float] = mapped_column(Float)  # the station's score (0-1, 0.5 at the threshold)
    label: Mapped[str] = mapped_column(String(8))  # ok, ng
    author_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    author: Mapped[str] = mapped_column(String(255))
    labelled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dataset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_dataset_versions.id", ondelete="SET NULL"), nullable=True
    )
