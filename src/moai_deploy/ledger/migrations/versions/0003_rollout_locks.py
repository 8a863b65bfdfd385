"""Rollout locks: one holder per (service, environment), surviving the holder's crash.

Revision ID: 0003
Revises: 0001 (a branch beside 0002, the gate results; `upgrade heads` applies both)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: tuple[str, ...] | None = ("locks",)
depends_on: str | None = None


def upgrade() -> None:
    """Create the rollout_locks table."""
    op.create_table(
        "rollout_locks",
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("pid_started", sa.String(), nullable=True),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", "environment", name=op.f("pk_rollout_locks")),
    )


def downgrade() -> None:
    """Drop the rollout_locks table."""
    op.drop_table("rollout_locks")
