"""Event sources for the stream: the ledger's append-only logs, read by id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from moai_deploy.ledger.models import AuditEvent
from moai_deploy.ledger.records import AuditRecord
from moai_deploy.ledger.store import Ledger


class AuditEventSource:
    """The audit log as events (every action, with its actor)."""

    def __init__(self, ledger: Ledger, service: str) -> None:
        self.ledger = ledger
        self.service = service

    def since(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        query = (
            select(AuditEvent)
            .where(AuditEvent.id > after_id, AuditEvent.service == self.service)
            .order_by(AuditEvent.id)
            .limit(limit)
        )
        with self.ledger.read_session() as session:
            return [_event(AuditRecord.from_row(row)) for row in session.scalars(query)]

    def last_id(self) -> int:
        with self.ledger.read_session() as session:
            return int(session.scalar(select(func.max(AuditEvent.id))) or 0)


def _event(record: AuditRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "at": record.at.isoformat(),
        "environment": record.environment,
        "release_id": record.detail.get("release"),
        "kind": record.action,
        "actor": record.actor,
        "data": {"outcome": record.outcome, "target": record.target, **record.detail},
    }
