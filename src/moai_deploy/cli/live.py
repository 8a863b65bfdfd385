"""The live view of a rollout: step, weights, per-version traffic and analysis verdicts.

Events come from the engine (as a Reporter); per-version request rate, success rate and
p95 are sampled from the router's own metrics once a second while the view is open.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from moai_deploy.cli.output import rollout_event_line


class TrafficStats(Protocol):
    """What the view shows per version; WindowStats from the Traefik provider fits."""

    @property
    def request_rate(self) -> float: ...

    @property
    def success_rate(self) -> float | None: ...

    def quantile(self, q: float) -> float | None: ...


StatsSource = Callable[[str], TrafficStats | None]  # backend name -> stats of the last window


@dataclass
class ViewState:
    """Everything the view renders; updated by events and the sampler."""

    steps: list[tuple[str, str, str]] = field(default_factory=list)  # kind, outcome, detail
    current: tuple[str, str] | None = None
    weights: dict[str, int] = field(default_factory=dict)
    stats: dict[str, TrafficStats | None] = field(default_factory=dict)
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def render(state: ViewState) -> RenderableType:
    """The view as a rich renderable (pure: testable without a terminal)."""
    steps = Table(title="steps", title_justify="left", show_header=False, box=None)
    for kind, outcome, detail in state.steps[-8:]:
        mark = "[green]✓[/]" if outcome == "succeeded" else "[red]✗[/]"
        steps.add_row(mark, kind, Text(detail[:90]))
    if state.current is not None:
        steps.add_row("[cyan]…[/]", state.current[0], Text(state.current[1][:90]))
    versions = Table(title="traffic", title_justify="left")
    for column in ("backend", "weight", "req/s", "success", "p95 ms"):
        versions.add_column(column)
    for backend, weight in sorted(state.weights.items()):
        versions.add_row(backend, f"{weight}%", *_stats_cells(state.stats.get(backend)))
    parts: list[RenderableType] = [steps, versions]
    if state.verdicts:
        parts.append(_verdicts(state.verdicts))
    parts.extend(Text(note, style="yellow") for note in state.notes[-4:])
    return Group(*parts)


def _stats_cells(stats: TrafficStats | None) -> tuple[str, str, str]:
    if stats is None:
        return ("-", "-", "-")
    success = stats.success_rate
    p95 = stats.quantile(0.95)
    return (
        f"{stats.request_rate:.1f}",
        "-" if success is None else f"{success:.3f}",
        "-" if p95 is None else f"{p95 * 1000:.0f}",
    )


def _verdicts(verdicts: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="analysis", title_justify="left")
    for column in ("metric", "value", "phase", "message"):
        table.add_column(column)
    for name, data in sorted(verdicts.items()):
        value = data.get("value")
        shown = "-" if value is None else f"{value:.4g}"
        phase = str(data.get("phase", ""))
        style = {"successful": "green", "failed": "red", "inconclusive": "yellow"}.get(phase, "")
        table.add_row(
            name, shown, f"[{style}]{phase}[/]" if style else phase, data.get("message", "")
        )
    return table


class LiveReporter:
    """A Reporter drawing the live view; use as a context manager around the rollout."""

    def __init__(self, stats: StatsSource | None, console: Console | None = None) -> None:
        self.state = ViewState()
        self._stats = stats
        self._live = Live(render(self.state), console=console, refresh_per_second=4)
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, name="live-view", daemon=True)

    def __enter__(self) -> LiveReporter:
        self._live.__enter__()
        self._sampler.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._sampler.join(timeout=2)
        self._refresh()
        self._live.__exit__(kind, exc, tb)

    def step_started(self, kind: str, description: str) -> None:
        self.state.current = (kind, description)
        self._refresh()

    def step_finished(self, kind: str, outcome: str, detail: str) -> None:
        self.state.current = None
        self.state.steps.append((kind, outcome, detail))
        self._refresh()

    def event(self, name: str, **fields: Any) -> None:
        if name == "weights":
            self.state.weights = dict(fields["weights"])
        elif name == "measurement":
            self.state.verdicts[str(fields.get("metric"))] = fields
        elif name in ("warning", "cleanup_failed"):
            self.state.notes.append(f"{name}: {fields}")
        elif name != "measurement" and (line := rollout_event_line(name, fields)) is not None:
            self.state.notes.append(Text.from_markup(line.strip()).plain)
        self._refresh()

    def _refresh(self) -> None:
        self._live.update(render(self.state))

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            if self._stats is None:
                continue
            for backend in list(self.state.weights):
                try:
                    self.state.stats[backend] = self._stats(backend)
                except Exception:
                    self.state.stats[backend] = None
            self._refresh()
