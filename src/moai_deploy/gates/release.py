"""The gates a deploy runs first: the ones its environment requires, cached when unchanged."""

from __future__ import annotations

from pathlib import Path

from moai_deploy.gates.model import GateRun
from moai_deploy.gates.reports import write_reports
from moai_deploy.gates.runner import Progress, RunOptions, run_gates
from moai_deploy.ledger.gate_store import GateStore
from moai_deploy.ledger.store import Ledger
from moai_deploy.paths import StateLayout
from moai_deploy.spec.models import Spec

REPORTS_DIR_NAME = "reports"


def default_report_dir(layout: StateLayout) -> Path:
    """Where reports go unless `--report-dir` says otherwise: the state folder's reports/."""
    return layout.root / REPORTS_DIR_NAME


def check_release_gates(
    project_dir: Path,
    spec: Spec,
    environment: str,
    layout: StateLayout,
    progress: Progress | None = None,
) -> GateRun:
    """Run (or reuse from cache) the gates `environment` requires; reports are written.

    The caller refuses the deploy when `run.passed` is False (`run.blocking` says which)
    and stores the run with `record_gate_run`. No required gates: an empty, passing run.
    """
    options = RunOptions(environment=environment, required_only=True,
                         python=spec.service.python, progress=progress)  # fmt: skip
    run = run_gates(project_dir, spec.gates, layout, options)
    if run.outcomes:
        write_reports(run, default_report_dir(layout) / environment)
    return run


def record_gate_run(
    ledger: Ledger, run: GateRun, service: str, release_id: int | None = None
) -> int:
    """Store the run in the ledger (linked to `release_id` when given); returns its id."""
    store = GateStore(ledger)
    run_id = store.save(run, service)
    if release_id is not None:
        store.link_to_release(run_id, release_id)
    return run_id


def refusal_message(run: GateRun, per_gate: int = 5) -> str:
    """Why a deploy is refused: each blocking gate with its first findings (file:line)."""
    lines = ["required quality gate(s) did not pass:"]
    for outcome in run.blocking:
        result = outcome.result
        lines.append(
            f"  {result.gate}: {result.status.value}" + (f" ({result.note})" if result.note else "")
        )
        lines += [f"    {f.where}: {f.rule}: {f.message}" for f in result.findings[:per_gate]]
        if len(result.findings) > per_gate:
            lines.append(f"    … {len(result.findings) - per_gate} more in the gate reports")
    lines.append("    fix: fix the findings, or deploy with --force --reason TEXT (audited)")
    return "\n".join(lines)
