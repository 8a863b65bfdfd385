"""The run as people read it: a rich table, then the findings of the gates that did not pass."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from moai_deploy.gates.model import GateOutcome, GateRun

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
