"""ORM models of the rollout journal: control requests, events, analysis runs, measurements.

Only `controls.py`, `events.py` and `analysis_log.py` touch them. All four tables are
append-only but for the fields that close a row (`consumed_at`, `finished_at`, `phase`).
Importing this module registers the tables on the ledger's `Base`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moai_deploy.ledger.models import Base, UTCDateTime


class ControlKind(StrEnum):
    """What a control request asks of a running rollout."""

    ABORT = "abort"
    PAUSE = "pause"
    RESUME = "resume"
    PROMOTE = "promote"  # past the current pause or inconclusive analysis
    PROMOTE_FULL = "promote_full"  # skip every remaining step and analysis


CONTROL_KIND_CHECK = "kind IN ('abort', 'pause', 'resume', 'promote', 'promote_full')"


class ControlRequestRow(Base):
    __tablename__ = "control_requests"
    __table_args__ = (
        CheckConstraint(CONTROL_KIND_CHECK, name="kind"),
        Index("ix_control_requests_release_consumed", "release_id", "consumed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    kind: Mapped[str] = mapped_column(String)
    actor: Mapped[str] = mapped_column(String)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_release_id_id", "release_id", "id"),
        Index("ix_events_service_environment_id", "service", "environment", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    service: Mapped[str | None] = mapped_column(String)
    environment: Mapped[str | None] = mapped_column(String)
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"))
    kind: Mapped[str] = mapped_column(String)
    actor: Mapped[str | None] = mapped_column(String)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AnalysisRunRow(Base):
    __tablename__ = "analysis_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    purpose: Mapped[str] = mapped_column(String)  # step, background, pre/post_promotion
    metrics: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    phase: Mapped[str] = mapped_column(String)
    message: Mapped[str] = mapped_column(Text, default="")


class MeasurementRow(Base):
    __tablename__ = "measurements"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_runs.id"), index=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    metric: Mapped[str] = mapped_column(String)
    phase: Mapped[str] = mapped_column(String)
    value: Mapped[float | None] = mapped_column(Float)
    condition: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    samples: Mapped[int]
    stable_samples: Mapped[int]
    dry_run: Mapped[bool]
    at: Mapped[datetime] = mapped_column(UTCDateTime())
