"""Initial ledger schema: releases, release_steps, audit_events.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the model's CHECK expressions: a migration must not change when
# the models evolve later.
_STATUS_CHECK = (
    "status IN ('pending', 'in_progress', 'succeeded', 'failed', 'rolled_back', 'aborted')"
)
_OUTCOME_CHECK = "outcome IN ('running', 'succeeded', 'failed', 'skipped')"


def _ts(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the three ledger tables."""
    _create_releases()
    _create_release_steps()
    _create_audit_events()


def _create_releases() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("commit_sha", sa.String(), nullable=True),
        sa.Column("spec_hash", sa.String(), nullable=False),
        sa.Column("artifact", sa.String(), nullable=True),
        sa.Column("strategy", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        _ts("created_at", nullable=False),
        _ts("started_at", nullable=True),
        _ts("finished_at", nullable=True),
        sa.Column("deployed_by", sa.String(), nullable=False),
        sa.Column("rollback_of", sa.Integer(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.CheckConstraint(_STATUS_CHECK, name=op.f("ck_releases_status")),
        sa.ForeignKeyConstraint(
            ["rollback_of"], ["releases.id"], name=op.f("fk_releases_rollback_of_releases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
    )
    op.create_index("ix_releases_service_environment", "releases", ["service", "environment"])


def _create_release_steps() -> None:
    op.create_table(
        "release_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        _ts("started_at", nullable=False),
        _ts("finished_at", nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.CheckConstraint(_OUTCOME_CHECK, name=op.f("ck_release_steps_outcome")),
        sa.ForeignKeyConstraint(
            ["release_id"], ["releases.id"], name=op.f("fk_release_steps_release_id_releases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_steps")),
        sa.UniqueConstraint(
            "release_id", "sequence", name=op.f("uq_release_steps_release_id_sequence")
        ),
    )


def _create_audit_events() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _ts("at", nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=True),
        sa.Column("environment", sa.String(), nullable=True),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )


def downgrade() -> None:
    """Drop the ledger tables (history is lost)."""
    op.drop_table("audit_events")
    op.drop_table("release_steps")
    op.drop_index("ix_releases_service_environment", table_name="releases")
    op.drop_table("releases")
