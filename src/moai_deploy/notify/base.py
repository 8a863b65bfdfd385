"""The notifier seam: what a notification carries, and what a notifier does with it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Notification:
    """One transition of a release or pipeline; never holds a secret (only names, ids)."""

    event: str  # one of spec.control.NOTIFY_EVENTS
    service: str
    environment: str | None
    release_id: int | None = None
    version: str | None = None
    actor: str | None = None
    message: str = ""
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        where = f"{self.service}/{self.environment}" if self.environment else self.service
        what = f" {self.version}" if self.version else ""
        release = f" (release #{self.release_id})" if self.release_id is not None else ""
        text = f"[{where}]{what}{release}: {self.event.replace('_', ' ')}"
        return f"{text} — {self.message}" if self.message else text


class Notifier(Protocol):
    """Sends notifications; `notify` must not block the caller for long."""

    def notify(self, notification: Notification) -> None: ...

    def close(self, timeout: float) -> None:
        """Finish what is queued (at most `timeout` seconds), then stop."""
        ...
