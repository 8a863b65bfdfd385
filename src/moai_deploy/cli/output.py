"""How the CLI shows things: rich for people, JSON for machines."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # the ledger and the pipeline load only when a command runs
    pass

console = Console()
err_console = Console(stderr=True)

_STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "rolled_back": "yellow",
    "aborted": "red",
    "in_progress": "cyan",
    "pending": "cyan",
}


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


class RichReporter:
    """Prints each rollout step as it starts and ends, with its duration."""

    def __init__(self, out: Console | None = None) -> None:
        self.out = out or console
        self._started: dict[str, float] = {}

    def step_started(self, kind: str, description: str) -> None:
        self._started[kind] = time.monotonic()
        self.out.print(f"  [cyan]…[/] {kind:<11} {description}")

    def step_finished(self, kind: str, outcome: str, detail: str) -> None:
        took = time.monotonic() - self._started.pop(kind, time.monotonic())
        mark = "[green]✓[/]" if outcome == "succeeded" else "[red]✗[/]"
        self.out.print(f"  {mark} {kind:<11} {detail} [dim]({took:.1f}s)[/]", highlight=False)

    def event(self, name: str, **fields: Any) -> None:
        if name == "warning":
            self.out.print(f"  [yellow]warning:[/] {fields.get('message', '')}")
        elif name == "scale_down_wait":
            self.out.print(
                f"  [dim]  old colour stays up {fields['seconds']:g}s for instant rollback[/]"
            )
        elif name in ("cleanup_failed", "restore_failed"):
            self.out.print(f"  [red]{name.replace('_', ' ')}:[/] {fields.get('detail', '')}")
        else:
            line = rollout_event_line(name, fields)
            if line is not None:
                self.out.print(line, highlight=False)


class JsonReporter:
    """One JSON object per line on stdout, for CI."""

    def _emit(self, **data: Any) -> None:
        data["at"] = time.time()
        sys.stdout.write(json.dumps(data, default=str) + "\n")
        sys.stdout.flush()

    def step_started(self, kind: str, description: str) -> None:
        self._emit(event="step_started", step=kind, description=description)

    def step_finished(self, kind: str, outcome: str, detail: str) -> None:
        self._emit(event="step_finished", step=kind, outcome=outcome, detail=detail)

    def event(self, name: str, **fields: Any) -> None:
        self._emit(event=name, **fields)


_PHASE_STYLE = {"successful": "green", "failed": "red", "error": "red", "inconclusive": "yellow"}


def _paused(f: dict[str, Any]) -> str:
    return (
        f"  [yellow]paused:[/] {escape(str(f.get('reason', '')))}\n"
        f"    continue: [bold]{f.get('command', 'moai-deploy promote ENV')}[/]"
    )


def _measurement(f: dict[str, Any]) -> str:
    value = f.get("value")
    shown = "no value" if value is None else f"{value:.4g}"
    phase = str(f.get("phase", ""))
    style = _PHASE_STYLE.get(phase, "none")
    why = escape(str(f.get("message", "")))
    return f"    {f.get('metric')} = {shown} [{style}]{phase}[/] [dim]({why})[/]"


def _verdict(f: dict[str, Any]) -> str:
    phase = str(f.get("phase", ""))
    style = _PHASE_STYLE.get(phase, "none")
    return (
        f"  analysis ({f.get('purpose')}): [{style}]{phase}[/] {escape(str(f.get('message', '')))}"
    )


def _undone(f: dict[str, Any]) -> str:
    reason = escape(str(f.get("reason", "")))
    return f"  [red]release {f.get('status')}:[/] {reason}; traffic is on stable"


_EVENT_LINES: dict[str, Callable[[dict[str, Any]], str]] = {
    "paused": _paused,
    "measurement": _measurement,
    "verdict": _verdict,
    "undone": _undone,
    "promote_plan": lambda f: f"  promote: {escape(str(f.get('summary', '')))}",
    "promoted": lambda f: f"  promoted ({f.get('how')}) by {f.get('by')}",
    "reconciled": lambda f: f"  [yellow]reconciled:[/] {escape(str(f.get('message', '')))}",
}


def rollout_event_line(name: str, fields: dict[str, Any]) -> str | None:
    """How a person reads a rollout event (pauses, measurements, verdicts), or None."""
    line = _EVENT_LINES.get(name)
    return line(fields) if line is not None else None


def releases_table(releases: list[dict[str, Any]], title: str) -> Table:
    """Releases as `ReleaseRecord.to_dict` (and the API) gives them."""
    table = Table(title=title, title_justify="left")
    for column in ("id", "env", "version", "status", "commit", "by", "started", "finished", "note"):
        table.add_column(column)
    for r in releases:
        style = _STATUS_STYLE.get(r["status"], "")
        note = f"rollback of #{r['rollback_of']}" if r.get("rollback_of") else r.get("message")
        table.add_row(
            str(r["id"]),
            r["environment"],
            r["version"],
            f"[{style}]{r['status']}[/]",
            (r.get("commit_sha") or "")[:7],
            r["deployed_by"],
            _time(r.get("started_at")),
            _time(r.get("finished_at")),
            note.splitlines()[0][:140] if note else "",
        )
    return table


def _time(value: Any) -> str:
    """A time as a datetime or as ISO 8601 text (JSON), to the second."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:19].replace("T", " ")
    return str(value.strftime("%Y-%m-%d %H:%M:%S"))


def status_table(status: Mapping[str, Any]) -> RenderableType:
    """One environment's status as `EnvironmentStatus.to_dict` (and the API) gives it: the
    local CLI and the remote one print the same."""
    live = status.get("live")
    head = f"{status['environment']}  {status['url']}  live: "
    head += f"{live['version']} (release #{live['id']})" if live else "nothing"
    if status.get("weights"):
        head += "  weights: " + ", ".join(f"{k}={v}%" for k, v in status["weights"].items())
    if status.get("router") == "down":
        head += "  router: DOWN (not serving)"
    elif status.get("router_note"):
        head += f"  router: {status['router_note']}"
    table = Table(title=head, title_justify="left")
    for column in ("instance", "version", "pid", "port", "state", "ready", "detail"):
        table.add_column(column)
    for i in status.get("instances", []):
        ready = "[green]yes[/]" if i["ready"] else "[red]no[/]"
        state = "[red]crashed[/]" if i["state"] == "crashed" else str(i["state"])
        table.add_row(
            i["name"], i["version"], str(i.get("pid") or "-"), str(i.get("port")), state, ready,
            i.get("detail") or "",
        )  # fmt: skip
    lines = []
    for release in status.get("unfinished", []):
        lines.append(
            f"unfinished: release #{release['id']} {release['version']} ({release['status']})"
        )
        if status.get("stopped_at"):
            lines.append(f"  at {status['stopped_at']}")
        if status.get("paused"):
            lines.append(f"  paused: {status['paused']}")
            lines.append(f"  continue: {status.get('continue_with')}")
    return Group(table, *(Text(line) for line in lines))


def audit_table(events: list[dict[str, Any]], title: str = "audit log") -> Table:
    """Audit events as `AuditRecord.to_dict` (and the API) gives them."""
    table = Table(title=title, title_justify="left")
    for column in ("at", "actor", "action", "target", "outcome", "detail"):
        table.add_column(column)
    for e in events:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(e["detail"].items()))
        table.add_row(
            _time(e["at"]), e["actor"], e["action"], e["target"], e["outcome"], detail[:80]
        )
    return table


def event_line(event: dict[str, Any]) -> str:
    """One event (`EventRecord.to_dict`) as a line: id, time, release, kind, actor, fields."""
    data = event.get("data") or {}
    fields = " ".join(f"{k}={_short(v)}" for k, v in sorted(data.items()) if v is not None)
    release = f"#{event['release_id']}" if event.get("release_id") is not None else "-"
    actor = f" by {event['actor']}" if event.get("actor") else ""
    return f"{event['id']:>6} {_time(event['at'])} {release:>5} {event['kind']}{actor}: {fields}"


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."
