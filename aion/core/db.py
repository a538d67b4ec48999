"""Database engine, sessions and the declarative base (SQLAlchemy 2.0).

SQLite is the embedded default; PostgreSQL (``postgresql+psycopg://``) works unchanged.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware current time in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware on every backend (SQLite drops tz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every ORM class."""

    metadata = MetaData(naming_convention=NAMING)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


#: Engines kept by :func:`get_engine`, most recently used last; at most ``MAX_ENGINES``.
_ENGINES: OrderedDict[str, Engine] = OrderedDict()
_ENGINES_LOCK = threading.Lock()
MAX_ENGINES = 8


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (the settings' URL by default).

    A process that has opened more than :data:`MAX_ENGINES` URLs (a test run, a tool walking
    several databases) disposes of the least recently used engine: its pooled connections are
    closed then, not left open until the garbage collector finds them.

    >>> get_engine("sqlite://") is get_engine("sqlite://")
    True
    """
    if url is None:
        from aion.settings import get_settings

        url = get_settings().resolved_database_url()
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is not None:
            _ENGINES.move_to_end(url)
            return engine
        engine = _ENGINES[url] = make_engine(url)
        while len(_ENGINES) > MAX_ENGINES:
            _ENGINES.popitem(last=False)[1].dispose()
        return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``. Every domain's ORM classes are loaded first: a row of one domain
    refers to others' tables (a data set to its company), and ``aion dataset ...`` imports only
    its own domain."""
    from aion.core.registry import load_all_models

    load_all_models()
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def system_session(engine: Engine | None = None, actor: str = "system") -> Iterator[Session]:
    """A session for trusted code (CLI, migrations of data, demo): sees every company.

    Changes are audited with ``actor`` as the one who made them.
    """
    from aion.core.tenancy import Scope

    session = session_factory(engine or get_engine())()
    Scope.system(actor).bind(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
