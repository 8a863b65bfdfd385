"""Everything a rollout reports also goes to the ledger's event log (what the live view and
the HTTP API's event stream read), then to the user's reporter."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from moai_deploy.ledger.events import EventLog
from moai_deploy.ledger.store import Ledger
from moai_deploy.rollout.reporter import Reporter


class JournalReporter:
    """A Reporter that appends each event to the event log before passing it on."""

    def __init__(self, ledger: Ledger, release_id: int, inner: Reporter, actor: str) -> None:
        self._log = EventLog(ledger)
        self._release = release_id
        self._inner = inner
        self._actor = actor
        self._broken = False

    def step_started(self, kind: str, description: str) -> None:
        self._append("step_started", {"step": kind, "description": description})
        self._inner.step_started(kind, description)

    def step_finished(self, kind: str, outcome: str, detail: str) -> None:
        self._append("step_finished", {"step": kind, "outcome": outcome, "detail": detail})
        self._inner.step_finished(kind, outcome, detail)

    def event(self, name: str, **fields: Any) -> None:
        self._append(name, fields)
        self._inner.event(name, **fields)

    def _append(self, kind: str, data: dict[str, Any]) -> None:
        actor = str(data.get("by") or self._actor)
        try:
            self._log.append(self._release, kind, data, actor=actor)
        except SQLAlchemyError as exc:  # the rollout goes on; its record says what was lost
            if not self._broken:
                self._broken = True
                self._inner.event("journal_failed", detail=f"{type(exc).__name__}: {exc}")
