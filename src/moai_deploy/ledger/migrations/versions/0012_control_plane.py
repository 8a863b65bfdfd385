"""Control plane: API tokens, approvals, webhook deliveries.

Revision ID: 0012
Revises: 0001 (its own branch, like 0002 and 0003; `upgrade heads` applies every branch)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0001"
branch_labels: tuple[str, ...] | None = ("control",)
depends_on: str | None = None

# Frozen copies of the models' CHECK expressions (a migration never follows model edits).
_ROLE_CHECK = "role IN ('viewer', 'deployer', 'approver', 'admin')"
_DECISION_CHECK = "decision IN ('approve', 'reject')"


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create api_tokens, approvals and webhook_deliveries."""
    _tokens()
    _approvals()
    _deliveries()


def _tokens() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=True),
        sa.Column("token_hash", sa.String(), nullable=False),
        _at("created_at"),
        sa.Column("created_by", sa.String(), nullable=False),
        _at("revoked_at", True),
        _at("last_used_at", True),
        sa.CheckConstraint(_ROLE_CHECK, name=op.f("ck_api_tokens_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )


def _approvals() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("approver", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _at("at"),
        _at("expires_at", True),
        sa.CheckConstraint(_DECISION_CHECK, name=op.f("ck_approvals_decision")),
        sa.ForeignKeyConstraint(
            ["release_id"], ["releases.id"], name=op.f("fk_approvals_release_id_releases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    op.create_index("ix_approvals_release", "approvals", ["release_id"])


def _deliveries() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column("webhook", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=True),
        sa.Column("release_id", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _at("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_delivery", "webhook_deliveries", ["delivery_id"])


def downgrade() -> None:
    """Drop the control-plane tables."""
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_approvals_release", table_name="approvals")
    op.drop_table("approvals")
    op.drop_table("api_tokens")
