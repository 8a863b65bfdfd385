"""ORM models of the control plane: API tokens, approvals, webhook deliveries.

Importing this module registers the tables on the ledger's `Base`; only the control-plane
stores (`tokens.py`, `approvals.py`, `deliveries.py`) touch them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moai_deploy.ledger.models import Base, UTCDateTime

ROLE_CHECK = "role IN ('viewer', 'deployer', 'approver', 'admin')"
DECISION_CHECK = "decision IN ('approve', 'reject')"


class ApiTokenRow(Base):
    """An API token: only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(ROLE_CHECK, name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    role: Mapped[str] = mapped_column(String)
    environment: Mapped[str | None] = mapped_column(String)  # None: every environment
    token_hash: Mapped[str] = mapped_column(String, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApprovalRow(Base):
    """One person's decision on one release (append-only)."""

    __tablename__ = "approvals"
    __table_args__ = (
        CheckConstraint(DECISION_CHECK, name="decision"),
        Index("ix_approvals_release", "release_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    service: Mapped[str] = mapped_column(String)
    environment: Mapped[str] = mapped_column(String)
    approver: Mapped[str] = mapped_column(String)
    decision: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookDeliveryRow(Base):
    """One attempt to deliver one notification to one webhook."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_delivery", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String)  # the same for every retry
    webhook: Mapped[str] = mapped_column(String)  # the webhook's name in the spec
    event: Mapped[str] = mapped_column(String)
    service: Mapped[str] = mapped_column(String)
    environment: Mapped[str | None] = mapped_column(String)
    release_id: Mapped[int | None]
    attempt: Mapped[int]
    status_code: Mapped[int | None]
    ok: Mapped[bool]
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
