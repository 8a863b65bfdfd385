"""ORM models of gate runs and their results; only `gate_store.py` touches them.

Importing this module registers the tables on the ledger's `Base`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moai_deploy.ledger.models import Base, UTCDateTime

GATE_STATUS_CHECK = "status IN ('passed', 'failed', 'error', 'skipped')"
ON_ERROR_CHECK = "on_error IN ('fail', 'warn')"


class GateRunRow(Base):
    __tablename__ = "gate_runs"
    __table_args__ = (Index("ix_gate_runs_service_environment", "service", "environment"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String)
    environment: Mapped[str | None] = mapped_column(String)
    project_dir: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool]
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"), index=True)


class GateResultRow(Base):
    __tablename__ = "gate_results"
    __table_args__ = (
        CheckConstraint(GATE_STATUS_CHECK, name="status"),
        CheckConstraint(ON_ERROR_CHECK, name="on_error"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("gate_runs.id"), index=True)
    gate: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    required: Mapped[bool]
    on_error: Mapped[str] = mapped_column(String)
    blocking: Mapped[bool]
    cached: Mapped[bool]
    duration: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text)
    report_path: Mapped[str | None] = mapped_column(Text)
    tool_version: Mapped[str | None] = mapped_column(String)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
