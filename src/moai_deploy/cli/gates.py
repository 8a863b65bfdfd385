"""`moai-deploy gate`: run the quality gates. Exit 0 passed, 1 a required gate failed, 2 bad
input. With --server, the server runs them on its checkout (`POST /api/v1/gates`, a
deployer token not scoped to one environment) and this prints its run the same way."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moai_deploy.cli.common import on_server
from moai_deploy.errors import EXIT_RELEASE_FAILED, BadInputError, MoaiError
from moai_deploy.paths import SPEC_FILE_NAME

if TYPE_CHECKING:
    from rich.console import Console

    from moai_deploy.gates.model import GateRun

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


def gate_command(
    only: OnlyOption = None,
    env: EnvOption = None,
    no_cache: NoCacheOption = False,
    as_json: JsonFlag = False,
    report_dir: ReportDirOption = None,
    spec: SpecPathOption = None,
) -> None:
    """Run the quality gates (in parallel, cached by their inputs); write the reports."""
    from rich.console import Console

    from moai_deploy.gates.project import GateRequest, run_request
    from moai_deploy.gates.reports.console import print_run

    out = Console(stderr=True) if as_json else Console()
    try:
        if on_server():
            run = _on_server(only or [], env, no_cache, report_dir)
        elif spec is not None or Path(SPEC_FILE_NAME).exists():
            run = _with_spec(
                spec or Path(SPEC_FILE_NAME), only or [], env, no_cache, report_dir, out
            )
        else:  # no spec: the folder's own gates ([tool.moai-deploy.gates] or the defaults)
            request = GateRequest(tuple(only or ()), env, not no_cache, report_dir, spec)
            run = run_request(request, out)
    except MoaiError as exc:
        from moai_deploy.cli.exits import fail

        fail(str(exc), exc.exit_code)
    if as_json:
        typer.echo(_json(run))
    else:
        print_run(run, out)
    if not run.passed:
        raise typer.Exit(EXIT_RELEASE_FAILED)


def _with_spec(
    spec: Path,
    only: list[str],
    env: str | None,
    no_cache: bool,
    report_dir: Path | None,
    out: Console,
) -> GateRun:
    """The spec's gates through the service layer (as the server runs them), every enabled
    one even with --env (the ones the environment does not require are advisory)."""
    from moai_deploy.gates.model import GateRun
    from moai_deploy.gates.reports.console import GateProgress
    from moai_deploy.service import ControlService, GateOptions

    with ControlService.for_command(spec) as service, GateProgress(out) as progress:
        options = GateOptions(tuple(only), True, not no_cache, report_dir, progress)
        data = service.gates(env, options)
    out.print(f"[dim]reports: {data['reports']}[/]", highlight=False)
    return GateRun.from_dict(data)


def _on_server(
    only: list[str], env: str | None, no_cache: bool, report_dir: Path | None
) -> GateRun:
    """The server runs the gates on its checkout and keeps the reports there."""
    from moai_deploy.cli import remote_commands
    from moai_deploy.gates.model import GateRun

    if no_cache or report_dir is not None:
        raise BadInputError(
            "--no-cache and --report-dir are for gates run on this machine\n"
            "    fix: drop them with --server (the server caches and keeps its reports)"
        )
    return GateRun.from_dict(remote_commands.gates(env, only))


def _json(run: GateRun) -> str:
    import json

    return json.dumps(run.to_dict(), indent=2, sort_keys=True)


def register(app: typer.Typer) -> None:
    """Add the `gate` command to the moai-deploy app."""
    app.command("gate")(gate_command)
