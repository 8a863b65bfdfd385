"""How a rollout tells the outside world what it is doing (CLI live view, JSON events)."""

from __future__ import annotations

import time
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


class RecordingReporter:
    """Keeps every event with the wall time it arrived (benchmarks, tests, post-mortems)."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str, dict[str, Any]]] = []

    def step_started(self, kind: str, description: str) -> None:
        self.events.append((time.time(), "step_started", {"step": kind}))

    def step_finished(self, kind: str, outcome: str, detail: str) -> None:
        self.events.append((time.time(), "step_finished", {"step": kind, "outcome": outcome}))

    def event(self, name: str, **fields: Any) -> None:
        self.events.append((time.time(), name, fields))

    def weights(self) -> list[dict[str, int]]:
        """Every routing the rollout applied (and verified), in order."""
        return [f["weights"] for _, name, f in self.events if name == "weights"]

    def named(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        return [(at, f) for at, n, f in self.events if n == name]
