"""The append-only event log of rollouts: what happened, to which release, by whom, when.

Every release transition (written here, by a flush hook, in the same transaction as the
transition itself), every step started and finished, every weight change, measurement,
verdict, pause and control request becomes one row. Ids only grow, so a reader keeps the
last id it saw and asks for what came after it::

    log = EventLog(ledger)
    after = 0
    while True:
        for event in log.since(after, environment="production", limit=200):
            send(event.to_dict())          # e.g. one server-sent event, `id:` = event.id
            after = event.id
        sleep(0.5)

`since` is one indexed range query (`id > after`), so polling it is cheap; the HTTP API's
event stream serves exactly this (`Last-Event-ID` is `after`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Session

from moai_deploy.ledger.journal_models import EventRow
from moai_deploy.ledger.models import Release, utcnow
from moai_deploy.ledger.records import _json_value
from moai_deploy.ledger.store import Ledger

TRANSITION = "transition"  # kind of the events the ledger writes for release status changes


@dataclass(frozen=True)
class EventRecord:
    """One event; `data` holds the kind's fields (weights, metric, value, reason, ...)."""

    id: int
    at: datetime
    service: str | None
    environment: str | None
    release_id: int | None
    kind: str
    actor: str | None
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict; `at` as ISO 8601 with offset."""
        return {k: _json_value(v) for k, v in self.__dict__.items()}

    @classmethod
    def from_row(cls, row: EventRow) -> EventRecord:
        return cls(
            row.id,
            row.at,
            row.service,
            row.environment,
            row.release_id,
            row.kind,
            row.actor,
            dict(row.data or {}),
        )


class EventLog:
    """Appends events and reads them back in id order."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def append(
        self,
        release: int | None,
        kind: str,
        data: dict[str, Any] | None = None,
        *,
        actor: str | None = None,
    ) -> EventRecord:
        """Append one event for `release` (service and environment are taken from it)."""
        with self.ledger.write_session() as session:
            row = _row(session, release, kind, data or {}, actor)
            session.add(row)
            session.flush()
            return EventRecord.from_row(row)

    def since(
        self,
        after_id: int = 0,
        *,
        release: int | None = None,
        service: str | None = None,
        environment: str | None = None,
        limit: int = 500,
    ) -> list[EventRecord]:
        """Events with id > `after_id`, oldest first, at most `limit`, optionally filtered."""
        query = select(EventRow).where(EventRow.id > after_id)
        if release is not None:
            query = query.where(EventRow.release_id == release)
        if service is not None:
            query = query.where(EventRow.service == service)
        if environment is not None:
            query = query.where(EventRow.environment == environment)
        with self.ledger.read_session() as session:
            rows = session.scalars(query.order_by(EventRow.id).limit(limit))
            return [EventRecord.from_row(row) for row in rows]

    def last_id(self) -> int:
        """The newest event's id (0 when there is none): where a new live reader starts."""
        with self.ledger.read_session() as session:
            return int(session.scalar(select(func.max(EventRow.id))) or 0)


def _row(
    session: Session, release: int | None, kind: str, data: dict[str, Any], actor: str | None
) -> EventRow:
    found = session.get(Release, release) if release is not None else None
    return EventRow(
        at=utcnow(),
        service=found.service if found else None,
        environment=found.environment if found else None,
        release_id=release,
        kind=kind,
        actor=actor,
        data=_jsonable(data),
    )


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {str(k): _json_value(v) for k, v in data.items()}


@event.listens_for(Session, "after_flush")
def _record_transitions(session: Session, _context: Any) -> None:
    """Every new release and every status change gets its event, in the same transaction.

    After the flush the new release has its id; its history still shows the change.
    """
    rows = []
    for row in [*session.new, *session.dirty]:
        change = _status_change(row) if isinstance(row, Release) else None
        if change is None:
            continue
        before, after = change
        data = {"from": before, "to": after, "version": row.version, "message": row.message}
        rows.append(
            {
                "at": utcnow(),
                "service": row.service,
                "environment": row.environment,
                "release_id": row.id,
                "kind": TRANSITION,
                "actor": row.deployed_by if before is None else None,
                "data": data,
            }
        )
    if rows:
        session.connection().execute(insert(EventRow), rows)


def _status_change(row: Release) -> tuple[str | None, str] | None:
    history = inspect(row).attrs.status.history
    if not history.added:
        return None
    before = history.deleted[0] if history.deleted else None
    return (str(before) if before is not None else None), str(history.added[0])
