"""Control requests to a running rollout, as an append-only log (never one shared object).

`abort`, `pause`, `resume`, `promote` and `promote --full` each append a row; the engine
takes the unconsumed rows in id order and marks them consumed in the same transaction, so
no request is lost or applied twice however many processes write at once. The engine's own
pauses (inconclusive analysis) are requests too, by actor "moai-deploy". Each request is
also an event (kind "control") in the event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from moai_deploy.ledger.journal_models import ControlKind, ControlRequestRow, EventRow
from moai_deploy.ledger.models import Release, utcnow
from moai_deploy.ledger.store import Ledger, LedgerError

CONTROL_EVENT = "control"


@dataclass(frozen=True)
class ControlRequest:
    """One request: what, by whom, why, when; `consumed_at` once the engine took it."""

    id: int
    release_id: int
    kind: ControlKind
    actor: str
    reason: str | None
    created_at: datetime
    consumed_at: datetime | None

    @classmethod
    def from_row(cls, row: ControlRequestRow) -> ControlRequest:
        return cls(
            row.id,
            row.release_id,
            ControlKind(row.kind),
            row.actor,
            row.reason,
            row.created_at,
            row.consumed_at,
        )


class ControlLog:
    """Appends control requests and hands them to the engine in order, once each."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def request(
        self, release_id: int, kind: ControlKind, actor: str, reason: str | None = None
    ) -> ControlRequest:
        """Append a request (and its event) in one transaction."""
        now = utcnow()
        with self.ledger.write_session() as session:
            release = session.get(Release, release_id)
            if release is None:
                raise LedgerError(f"no release with id {release_id}")
            row = ControlRequestRow(
                release_id=release_id, kind=str(kind), actor=actor, reason=reason, created_at=now
            )
            session.add(row)
            session.flush()
            session.add(
                EventRow(
                    at=now,
                    service=release.service,
                    environment=release.environment,
                    release_id=release_id,
                    kind=CONTROL_EVENT,
                    actor=actor,
                    data={"request": row.id, "request_kind": str(kind), "reason": reason},
                )
            )
            return ControlRequest.from_row(row)

    def take(self, release_id: int) -> list[ControlRequest]:
        """The unconsumed requests, oldest first, marked consumed now (the engine's read)."""
        now = utcnow()
        with self.ledger.write_session() as session:
            query = (
                select(ControlRequestRow)
                .where(ControlRequestRow.release_id == release_id)
                .where(ControlRequestRow.consumed_at.is_(None))
                .order_by(ControlRequestRow.id)
                .with_for_update()
            )
            rows = list(session.scalars(query))
            for row in rows:
                row.consumed_at = now
            return [ControlRequest.from_row(r) for r in rows]

    def pending(self, release_id: int) -> list[ControlRequest]:
        """Unconsumed requests, oldest first (read only)."""
        return [r for r in self.history(release_id) if r.consumed_at is None]

    def history(self, release_id: int) -> list[ControlRequest]:
        """Every request of a release, oldest first."""
        query = (
            select(ControlRequestRow)
            .where(ControlRequestRow.release_id == release_id)
            .order_by(ControlRequestRow.id)
        )
        with self.ledger.read_session() as session:
            return [ControlRequest.from_row(r) for r in session.scalars(query)]
