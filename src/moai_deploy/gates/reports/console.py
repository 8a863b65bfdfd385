"""The run as people read it: a rich table, then the findings of the gates that did not pass."""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from moai_deploy.gates.model import GateOutcome, GateResult, GateRun

_STYLE = {"passed": "green", "failed": "red", "error": "yellow", "skipped": "dim"}
MAX_FINDINGS = 15  # per gate on the console; the reports have them all


def gates_table(run: GateRun) -> Table:
    """One row per gate: status, policy, findings, time, note."""
    where = f" for {run.environment}" if run.environment else ""
    table = Table(title=f"quality gates{where}", title_justify="left")
    for column in ("gate", "status", "policy", "findings", "time", "note"):
        table.add_column(column, justify="right" if column in ("findings", "time") else "left")
    for outcome in run.outcomes:
        result = outcome.result
        style = _STYLE[result.status.value]
        mark = " [red bold]blocks[/]" if outcome.blocking else ""
        policy = "required" if outcome.required else "advisory"
        if result.status == "error":
            policy += f" (on_error {outcome.on_error})"
        took = "cached" if result.cached else f"{result.duration:.1f}s"
        table.add_row(
            result.gate,
            f"[{style}]{result.status.value}[/]{mark}",
            policy,
            str(len(result.findings)),
            took,
            result.note,
        )
    return table


def print_run(run: GateRun, out: Console) -> None:
    """The table, the findings of every gate that did not pass, and the verdict."""
    out.print(gates_table(run))
    for outcome in run.outcomes:
        if outcome.result.status in ("failed", "error") and outcome.result.findings:
            _print_findings(outcome, out)
    if run.passed:
        out.print("[green]✓[/] gates passed")
    else:
        names = ", ".join(o.result.gate for o in run.blocking)
        out.print(f"[red]✗[/] blocked by required gate(s): {names}")


def _print_findings(outcome: GateOutcome, out: Console) -> None:
    found = outcome.result.findings
    out.print(f"[bold]{outcome.result.gate}[/]")
    for finding in found[:MAX_FINDINGS]:
        out.print(f"  {finding.where}: {finding.rule}: {finding.message}", highlight=False,
                  markup=False)  # fmt: skip
    if len(found) > MAX_FINDINGS:
        out.print(f"  … {len(found) - MAX_FINDINGS} more in the reports", highlight=False)


class GateProgress:
    """While gates run: which ones are running and for how long (a live line on a
    terminal), and each result as it finishes."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self._running: dict[str, float] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __enter__(self) -> GateProgress:
        if self.out.is_terminal:
            self._live = Live(console=self.out, get_renderable=self._line, refresh_per_second=4,
                              transient=True)  # fmt: skip
            self._live.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    def _line(self) -> Text:
        now = time.monotonic()
        with self._lock:
            running = ", ".join(f"{n} {now - t:.0f}s" for n, t in sorted(self._running.items()))
        return Text(f"  running: {running}" if running else "", style="cyan")

    def __call__(self, event: str, gate: str, result: GateResult | None) -> None:
        with self._lock:
            if event == "started":
                self._running[gate] = time.monotonic()
            else:
                self._running.pop(gate, None)
        if event == "started" and self._live is None:
            self.out.print(f"  [cyan]…[/] {gate} running", highlight=False)
        if result is not None:
            self.out.print(f"  {result_line(result)}", highlight=False)


def result_line(result: GateResult) -> str:
    """`✓ ruff passed 0.4s`, `✗ mypy failed 3.1s: 4 finding(s)`, `- tags skipped: why`."""
    status = result.status.value
    mark = {"passed": "[green]✓[/]", "failed": "[red]✗[/]", "error": "[yellow]![/]"}.get(
        status, "[dim]-[/]"
    )
    took = "cached" if result.cached else f"{result.duration:.1f}s"
    text = f"{mark} {result.gate} {status} [dim]{took}[/]"
    if result.findings and status != "passed":
        text += f": {len(result.findings)} finding(s)"
    if result.note and status in ("error", "skipped"):
        text += f": {escape(result.note)}"
    return text
