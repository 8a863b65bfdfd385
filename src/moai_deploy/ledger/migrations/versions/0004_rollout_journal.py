"""Rollout journal: control requests, the event log, analysis runs and measurements.

Revision ID: 0004
Revises: 0002, 0003 (joins the gates and locks branches into one head)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | tuple[str, ...] | None = ("0002", "0003")
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

# Frozen copy of the model's CHECK expression (a migration never follows model edits).
_KIND_CHECK = "kind IN ('abort', 'pause', 'resume', 'promote', 'promote_full')"


def _ts(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _release_fk(nullable: bool = False) -> sa.Column[object]:
    return sa.Column("release_id", sa.Integer(), sa.ForeignKey("releases.id"), nullable=nullable)


def upgrade() -> None:
    """Create control_requests, events, analysis_runs and measurements."""
    op.create_table(
        "control_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _release_fk(),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _ts("created_at", nullable=False),
        _ts("consumed_at", nullable=True),
        sa.CheckConstraint(_KIND_CHECK, name=op.f("ck_control_requests_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_requests")),
    )
    op.create_index(
        "ix_control_requests_release_consumed", "control_requests", ["release_id", "consumed_at"]
    )
    _create_events()
    _create_analysis()


def _create_events() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _ts("at", nullable=False),
        sa.Column("service", sa.String(), nullable=True),
        sa.Column("environment", sa.String(), nullable=True),
        _release_fk(nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_release_id_id", "events", ["release_id", "id"])
    op.create_index("ix_events_service_environment_id", "events", ["service", "environment", "id"])


def _create_analysis() -> None:
    op.create_table(
        "analysis_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _release_fk(),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        _ts("started_at", nullable=False),
        _ts("finished_at", nullable=True),
        sa.Column("phase", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_runs")),
    )
    op.create_index(op.f("ix_analysis_runs_release_id"), "analysis_runs", ["release_id"])
    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("analysis_runs.id"), nullable=False),
        _release_fk(),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("phase", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("stable_samples", sa.Integer(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        _ts("at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurements")),
    )
    op.create_index(op.f("ix_measurements_run_id"), "measurements", ["run_id"])
    op.create_index(op.f("ix_measurements_release_id"), "measurements", ["release_id"])


def downgrade() -> None:
    """Drop the journal tables."""
    for table in ("measurements", "analysis_runs", "events", "control_requests"):
        op.drop_table(table)
