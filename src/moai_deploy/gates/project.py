"""What `moai-deploy gate` checks: the project folder, its gate settings, who it is; and
one run of the gates over it (reports written, the run recorded in the ledger)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console

from moai_deploy.errors import BadInputError
from moai_deploy.gates.model import GateRun
from moai_deploy.gates.release import default_report_dir, record_gate_run
from moai_deploy.gates.reports import write_reports
from moai_deploy.gates.reports.console import GateProgress
from moai_deploy.gates.runner import RunOptions, run_gates
from moai_deploy.ledger.store import Ledger, ledger_url
from moai_deploy.paths import StateLayout
from moai_deploy.spec.gates import GatesSpec
from moai_deploy.spec.loader import SPEC_FILE_NAME, load_spec


@dataclass(frozen=True)
class GateTarget:
    """What the gates check: the project folder, its gate settings, who it is."""

    project_dir: Path
    gates: GatesSpec
    service: str
    environments: tuple[str, ...] | None  # None: no spec, any environment name is accepted
    has_spec: bool
    python: str | None = None  # the spec's service.python (the project's interpreter)


def pyproject_gates(project_dir: Path) -> GatesSpec:
    """A project without a spec (a library, or moai-deploy itself) can still configure its
    gates, in pyproject.toml under [tool.moai-deploy.gates]; else the defaults."""
    pyproject = project_dir / "pyproject.toml"
    if not pyproject.is_file():
        return GatesSpec()
    try:
        data = tomllib.loads(pyproject.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{pyproject}: invalid TOML: {exc}") from None
    section = data.get("tool", {}).get("moai-deploy", {}).get("gates")
    if section is None:
        return GatesSpec()
    try:
        return GatesSpec.model_validate(section)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BadInputError(
            f"{pyproject}: [tool.moai-deploy.gates]: {problems}\n"
            "    fix: see the `gates` section of the spec reference"
        ) from None


def resolve_target(spec: Path | None) -> GateTarget:
    """The spec's project, or the current folder with default gates when there is no spec."""
    path = spec or Path(SPEC_FILE_NAME)
    if spec is None and not path.exists():
        here = Path.cwd().resolve()
        return GateTarget(here, pyproject_gates(here), here.name, None, has_spec=False)
    loaded = load_spec(path)
    names = tuple(loaded.spec.environments)
    service = loaded.spec.service
    return GateTarget(loaded.project_dir, loaded.spec.gates, service.name, names,
                      has_spec=True, python=service.python)  # fmt: skip


@dataclass(frozen=True)
class GateRequest:
    """What the command line asked for."""

    only: tuple[str, ...]
    env: str | None
    use_cache: bool
    report_dir: Path | None
    spec: Path | None


def run_request(request: GateRequest, out: Console) -> GateRun:
    """Run the gates the command line asked for; write the reports; record the run."""
    target = resolve_target(request.spec)
    env = request.env
    if env is not None and target.environments is not None and env not in target.environments:
        known = ", ".join(target.environments)
        raise BadInputError(f"no environment {env!r} in the spec\n    fix: choose from {known}")
    layout = StateLayout.for_project(target.project_dir)
    layout.ensure()
    with GateProgress(out) as progress:
        options = RunOptions(only=request.only, environment=env, use_cache=request.use_cache,
                             python=target.python, progress=progress)  # fmt: skip
        run = run_gates(target.project_dir, target.gates, layout, options)
    if target.has_spec:
        with Ledger.open(ledger_url(layout.ledger_db)) as ledger:
            reports = report_and_record(run, layout, request.report_dir, (ledger, target.service))
    else:
        reports = report_and_record(run, layout, request.report_dir, None)
    out.print(f"[dim]reports: {reports}[/]", highlight=False)
    return run


def report_and_record(
    run: GateRun, layout: StateLayout, report_dir: Path | None, record: tuple[Ledger, str] | None
) -> Path:
    """Write the run's reports (default: the state folder's) and, given (ledger, service),
    record the run in the ledger; the reports' folder."""
    paths = write_reports(run, report_dir or default_report_dir(layout))
    if record is not None:
        record_gate_run(record[0], run, record[1])
    return paths["json"].parent
