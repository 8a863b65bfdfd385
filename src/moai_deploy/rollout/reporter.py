"""How a rollout tells the outside world what it is doing (CLI live view, JSON events)."""

from __future__ import annotations

from typing import Any, Protocol


class Reporter(Protocol):
    """Receives rollout events; implementations render them (rich, JSON lines, nothing)."""

    def step_started(self, kind: str, description: str) -> None: ...

    def step_finished(self, kind: str, outcome: str, detail: str) -> None: ...

    def event(self, name: str, **fields: Any) -> None: ...


class NullReporter:
    """Discards everything (library use, tests)."""

    def step_started(self, kind: str, description: str) -> None:
        return None

    def step_finished(self, kind: str, outcome: str, detail: str) -> None:
        return None

    def event(self, name: str, **fields: Any) -> None:
        return None
