"""The event stream's source: the ledger's append-only event log, read by id."""

from __future__ import annotations

from typing import Any

from moai_deploy.ledger.events import EventLog
from moai_deploy.ledger.store import Ledger


class JournalEventSource:
    """One service's events from the ledger's event log (`ledger/events.py`)."""

    def __init__(self, ledger: Ledger, service: str) -> None:
        self._log = EventLog(ledger)
        self.service = service

    def since(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        events = self._log.since(after_id, service=self.service, limit=limit)
        return [event.to_dict() for event in events]

    def last_id(self) -> int:
        return self._log.last_id()
