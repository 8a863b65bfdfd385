"""`moai-deploy gate`: run the quality gates. Exit 0 passed, 1 a required gate failed, 2 bad
input."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from moai_deploy.errors import EXIT_RELEASE_FAILED, BadInputError, MoaiError
from moai_deploy.gates.model import GateRun
from moai_deploy.gates.release import default_report_dir, record_gate_run
from moai_deploy.gates.reports import write_reports
from moai_deploy.gates.reports.console import print_run
from moai_deploy.gates.runner import RunOptions, run_gates
from moai_deploy.ledger.store import Ledger, ledger_url
from moai_deploy.paths import StateLayout
from moai_deploy.spec.gates import GatesSpec
from moai_deploy.spec.loader import SPEC_FILE_NAME, load_spec

OnlyOption = Annotated[
    list[str] | None,
    typer.Option("--only", help="Run only this gate (repeatable), e.g. --only ruff --only mypy."),
]
EnvOption = Annotated[
    str | None,
    typer.Option("--env", help="Judge by this environment's required gates (others advisory)."),
]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Run every gate afresh.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the run as JSON.")]
ReportDirOption = Annotated[
    Path | None,
    typer.Option("--report-dir", help="Where reports go (default: <state>/reports).",
                 file_okay=False),
]  # fmt: skip
SpecPathOption = Annotated[
    Path | None,
    typer.Option("--spec", "-f", help="The spec file (default: ./moai-deploy.yaml; without "
                 "one, the gates run with their defaults).", dir_okay=False),
]  # fmt: skip


@dataclass(frozen=True)
class GateTarget:
    """What the gates check: the project folder, its gate settings, who it is."""

    project_dir: Path
    gates: GatesSpec
    service: str
    environments: tuple[str, ...] | None  # None: no spec, any environment name is accepted
    has_spec: bool


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
    return GateTarget(
        loaded.project_dir, loaded.spec.gates, loaded.spec.service.name, names, has_spec=True
    )


def gate_command(
    only: OnlyOption = None,
    env: EnvOption = None,
    no_cache: NoCacheOption = False,
    as_json: JsonFlag = False,
    report_dir: ReportDirOption = None,
    spec: SpecPathOption = None,
) -> None:
    """Run the quality gates (in parallel, cached by their inputs); write the reports."""
    out = Console(stderr=True) if as_json else Console()
    request = GateRequest(tuple(only or ()), env, not no_cache, report_dir, spec)
    try:
        run = _run(request, out)
    except MoaiError as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(exc.exit_code) from None
    if as_json:
        typer.echo(_json(run))
    else:
        print_run(run, out)
    if not run.passed:
        raise typer.Exit(EXIT_RELEASE_FAILED)


@dataclass(frozen=True)
class GateRequest:
    """What the command line asked for."""

    only: tuple[str, ...]
    env: str | None
    use_cache: bool
    report_dir: Path | None
    spec: Path | None


def _run(request: GateRequest, out: Console) -> GateRun:
    target = resolve_target(request.spec)
    env = request.env
    if env is not None and target.environments is not None and env not in target.environments:
        known = ", ".join(target.environments)
        raise BadInputError(f"no environment {env!r} in the spec\n    fix: choose from {known}")
    layout = StateLayout.for_project(target.project_dir)
    layout.ensure()
    options = RunOptions(only=request.only, environment=env, use_cache=request.use_cache)
    run = run_gates(target.project_dir, target.gates, layout, options)
    paths = write_reports(run, request.report_dir or default_report_dir(layout))
    if target.has_spec:
        with Ledger.open(ledger_url(layout.ledger_db)) as ledger:
            record_gate_run(ledger, run, target.service)
    out.print(f"[dim]reports: {paths['json'].parent}[/]", highlight=False)
    return run


def _json(run: GateRun) -> str:
    import json

    return json.dumps(run.to_dict(), indent=2, sort_keys=True)


def register(app: typer.Typer) -> None:
    """Add the `gate` command to the moai-deploy app."""
    app.command("gate")(gate_command)
