"""A Markdown summary (for pull requests and CI job summaries)."""

from __future__ import annotations

from moai_deploy.gates.model import GateOutcome, GateRun

_ICON = {"passed": "✅", "failed": "❌", "error": "⚠️", "skipped": "⏭️"}
MAX_FINDINGS = 20  # per gate; the JSON report has them all


def markdown(run: GateRun) -> str:
    """Summary table, then each gate's findings (the first MAX_FINDINGS)."""
    verdict = (
        "passed" if run.passed else "blocked by " + ", ".join(o.result.gate for o in run.blocking)
    )
    where = f" for `{run.environment}`" if run.environment else ""
    lines = [
        f"# Quality gates{where}: {verdict}",
        "",
        "| gate | status | policy | findings | time | note |",
        "|---|---|---|---:|---:|---|",
    ]
    lines += [_row(o) for o in run.outcomes]
    for outcome in run.outcomes:
        lines += _findings(outcome)
    return "\n".join(lines) + "\n"


def _row(outcome: GateOutcome) -> str:
    result = outcome.result
    status = f"{_ICON[result.status.value]} {result.status.value}"
    policy = "required" if outcome.required else "advisory"
    if result.status == "error":
        policy += f", on_error {outcome.on_error}"
    took = "cached" if result.cached else f"{result.duration:.1f}s"
    note = result.note.replace("|", "\\|").replace("\n", " ")
    return f"| {result.gate} | {status} | {policy} | {len(result.findings)} | {took} | {note} |"


def _findings(outcome: GateOutcome) -> list[str]:
    found = outcome.result.findings
    if not found:
        return []
    lines = ["", f"## {outcome.result.gate}", ""]
    for finding in found[:MAX_FINDINGS]:
        message = finding.message.replace("\n", " ")
        lines.append(f"- `{finding.where}` **{finding.rule}** {message}")
    if len(found) > MAX_FINDINGS:
        lines.append(f"- … and {len(found) - MAX_FINDINGS} more (see gates.json)")
    return lines
