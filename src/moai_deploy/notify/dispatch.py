"""From rollout events to notifications: a Reporter that tells the notifiers.

Transitions sent: started, waiting_for_approval (once per wait), approved, promoted,
paused, aborted, failed, succeeded, and rolled_back (a rollback release went live).
"""

from __future__ import annotations

from typing import Any

from moai_deploy.ledger.store import Ledger, LedgerError
from moai_deploy.notify.base import Notification, Notifier
from moai_deploy.rollout.lock import actor
from moai_deploy.rollout.reporter import Reporter

_PASSED_ON = frozenset({"waiting_for_approval", "approved", "promoted", "paused"})


class NotifyingReporter:
    """Passes every event on to `inner`, and the transitions to `notifiers`."""

    def __init__(
        self,
        inner: Reporter,
        notifiers: list[Notifier],
        ledger: Ledger,
        target: tuple[str, str],
    ) -> None:
        self._inner = inner
        self._notifiers = notifiers
        self._ledger = ledger
        self._service, self._environment = target
        self._release: int | None = None
        self._version: str | None = None
        self._rollback = False

    def step_started(self, kind: str, description: str) -> None:
        self._inner.step_started(kind, description)

    def step_finished(self, kind: str, outcome: str, detail: str) -> None:
        self._inner.step_finished(kind, outcome, detail)
        if kind == "promote" and outcome == "succeeded":
            self._send("rolled_back" if self._rollback else "succeeded", detail)

    def event(self, name: str, **fields: Any) -> None:
        self._inner.event(name, **fields)
        if name in ("release_created", "resumed"):
            self._track(fields.get("release"), fields.get("version"))
            if name == "release_created":
                self._send("started")
        elif name in _PASSED_ON:
            self._send(name, str(fields.get("reason") or fields.get("how") or ""))
        elif name == "undone":
            self._send(str(fields.get("status", "failed")), str(fields.get("reason", "")))

    def _track(self, release: object, version: object) -> None:
        if not isinstance(release, int):
            return
        self._release = release
        try:
            record = self._ledger.get_release(release)
        except LedgerError:
            return
        self._version = str(version) if version else record.version
        self._rollback = record.rollback_of is not None

    def _send(self, event: str, message: str = "") -> None:
        notification = Notification(
            event=event,
            service=self._service,
            environment=self._environment,
            release_id=self._release,
            version=self._version,
            actor=actor(),
            message=message,
        )
        for notifier in self._notifiers:
            notifier.notify(notification)
