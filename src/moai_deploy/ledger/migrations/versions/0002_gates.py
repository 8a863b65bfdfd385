"""Gate runs and their results, linked to the release they allowed.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: tuple[str, ...] | None = ("gates",)
depends_on: str | None = None

# Frozen copies of the models' CHECK expressions (a migration never follows model edits).
_STATUS_CHECK = "status IN ('passed', 'failed', 'error', 'skipped')"
_ON_ERROR_CHECK = "on_error IN ('fail', 'warn')"


def upgrade() -> None:
    """Create gate_runs and gate_results."""
    op.create_table(
        "gate_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=True),
        sa.Column("project_dir", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_id"], ["releases.id"], name=op.f("fk_gate_runs_release_id_releases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_runs")),
    )
    op.create_index("ix_gate_runs_service_environment", "gate_runs", ["service", "environment"])
    op.create_index(op.f("ix_gate_runs_release_id"), "gate_runs", ["release_id"])
    _create_gate_results()


def _create_gate_results() -> None:
    op.create_table(
        "gate_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("gate", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("on_error", sa.String(), nullable=False),
        sa.Column("blocking", sa.Boolean(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("report_path", sa.Text(), nullable=True),
        sa.Column("tool_version", sa.String(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.CheckConstraint(_STATUS_CHECK, name=op.f("ck_gate_results_status")),
        sa.CheckConstraint(_ON_ERROR_CHECK, name=op.f("ck_gate_results_on_error")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["gate_runs.id"], name=op.f("fk_gate_results_run_id_gate_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_results")),
    )
    op.create_index(op.f("ix_gate_results_run_id"), "gate_results", ["run_id"])


def downgrade() -> None:
    """Drop the gate tables (gate history is lost)."""
    op.drop_index(op.f("ix_gate_results_run_id"), table_name="gate_results")
    op.drop_table("gate_results")
    op.drop_index(op.f("ix_gate_runs_release_id"), table_name="gate_runs")
    op.drop_index("ix_gate_runs_service_environment", table_name="gate_runs")
    op.drop_table("gate_runs")
