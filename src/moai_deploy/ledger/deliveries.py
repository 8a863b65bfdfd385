"""Webhook delivery attempts in the ledger (append-only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from moai_deploy.ledger.control_models import WebhookDeliveryRow
from moai_deploy.ledger.models import utcnow
from moai_deploy.ledger.store import Ledger


@dataclass(frozen=True)
class DeliveryAttempt:
    delivery_id: str
    webhook: str
    event: str
    service: str
    environment: str | None
    release_id: int | None
    attempt: int
    status_code: int | None
    ok: bool
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DeliveryLog:
    """Records and lists delivery attempts."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def record(self, attempt: DeliveryAttempt) -> None:
        with self.ledger.write_session() as session:
            session.add(WebhookDeliveryRow(**asdict(attempt), at=utcnow()))

    def list(self, service: str, limit: int = 100) -> list[DeliveryAttempt]:
        query = (
            select(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.service == service)
            .order_by(WebhookDeliveryRow.id.desc())
            .limit(limit)
        )
        fields = DeliveryAttempt.__dataclass_fields__
        with self.ledger.read_session() as session:
            return [
                DeliveryAttempt(**{name: getattr(row, name) for name in fields})
                for row in session.scalars(query)
            ]
