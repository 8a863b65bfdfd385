"""ORM models of the release ledger; only `store.py` touches them."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class ReleaseStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"


class StepOutcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


def _in_check(column: str, values: type[StrEnum]) -> str:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({listed})"


RELEASE_STATUS_CHECK = _in_check("status", ReleaseStatus)
STEP_OUTCOME_CHECK = _in_check("outcome", StepOutcome)

# Named constraints keep future Alembic migrations (and SQLite batch mode) deterministic.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend.

    SQLite has no timezone support and hands back naive values; we store UTC and
    re-attach the zone on the way out so callers always see aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("ledger timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Release(Base):
    __tablename__ = "releases"
    __table_args__ = (
        Index("ix_releases_service_environment", "service", "environment"),
        CheckConstraint(RELEASE_STATUS_CHECK, name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String)
    environment: Mapped[str] = mapped_column(String)
    version: Mapped[str] = mapped_column(String)
    commit_sha: Mapped[str | None] = mapped_column(String)
    spec_hash: Mapped[str] = mapped_column(String)
    artifact: Mapped[str | None] = mapped_column(String)
    strategy: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deployed_by: Mapped[str] = mapped_column(String)
    rollback_of: Mapped[int | None] = mapped_column(ForeignKey("releases.id"))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ReleaseStep(Base):
    __tablename__ = "release_steps"
    __table_args__ = (
        UniqueConstraint("release_id", "sequence"),
        CheckConstraint(STEP_OUTCOME_CHECK, name="outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    sequence: Mapped[int]
    kind: Mapped[str] = mapped_column(String)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String)
    detail: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)
    service: Mapped[str | None] = mapped_column(String)
    environment: Mapped[str | None] = mapped_column(String)
    target: Mapped[str] = mapped_column(String)
    outcome: Mapped[str] = mapped_column(String)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RolloutLock(Base):
    """At most one holder per (service, environment): the primary key is the lock."""

    __tablename__ = "rollout_locks"

    service: Mapped[str] = mapped_column(String, primary_key=True)
    environment: Mapped[str] = mapped_column(String, primary_key=True)
    holder: Mapped[str] = mapped_column(String)
    host: Mapped[str] = mapped_column(String)
    pid: Mapped[int | None]
    pid_started: Mapped[str | None] = mapped_column(String)  # guards against pid reuse
    purpose: Mapped[str] = mapped_column(String)
    version: Mapped[str | None] = mapped_column(String)
    message: Mapped[str | None] = mapped_column(Text)
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
