"""`moai-deploy trace`: SPEC/TAG chains, the SPECs live per environment, promotion diffs.

Exit codes: 0 ok, 1 the trace has errors (with --strict, warnings too), 2 bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moai_deploy.cli.output import console, err_console, print_json
from moai_deploy.errors import EXIT_RELEASE_FAILED, BadInputError, MoaiError
from moai_deploy.paths import SPEC_FILE_NAME

if TYPE_CHECKING:  # the ledger and the scanners load when a command runs (cli/main.py)
    from moai_deploy.pipeline.project import Project
    from moai_deploy.trace.live import LiveView

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--spec",
        "-f",
        help="The spec file or the project folder [default: ./moai-deploy.yaml].",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

trace_app = typer.Typer(
    help="SPEC/TAG traceability: chains, what is live where, what a promotion changes.",
    no_args_is_help=False,
)


def register(app: typer.Typer) -> None:
    """Add the `trace` command group to the moai-deploy CLI."""
    app.add_typer(trace_app, name="trace")


@contextmanager
def _user_errors() -> Iterator[None]:
    # Errors become exit codes here too, so the group behaves the same under any Typer app.
    try:
        yield
    except MoaiError as exc:
        err_console.print("[red]error:[/]", end=" ")
        err_console.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(exc.exit_code) from None


def project_dir(spec: Path | None) -> Path:
    """The folder to trace: --spec's folder, --spec itself if a folder, else the cwd."""
    if spec is None:
        return Path.cwd()
    if spec.is_dir():
        return spec
    if not spec.exists():
        raise BadInputError(f"--spec {spec}: no such file or folder")
    return spec.parent


def _spec_file(spec: Path | None) -> Path:
    if spec is None:
        return Path(SPEC_FILE_NAME)
    return spec / SPEC_FILE_NAME if spec.is_dir() else spec


@contextmanager
def _project(spec: Path | None) -> Iterator[Project]:
    from moai_deploy.pipeline.project import Project

    project = Project.open(_spec_file(spec))
    try:
        yield project
    finally:
        project.close()


def _live(project: Project, environment: str) -> LiveView:
    from moai_deploy.trace.live import live_specs

    project.environment(environment)  # an unknown name is bad input (exit 2)
    return live_specs(project.ledger, project.service, environment)


@trace_app.callback(invoke_without_command=True)
def trace(
    ctx: typer.Context,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings are errors.")] = False,
    env: Annotated[
        str | None, typer.Option("--env", help="List the SPECs live in this environment.")
    ] = None,
    spec: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check SPEC front matter and @TAG chains (or, with --env, list the SPECs live there)."""
    if ctx.invoked_subcommand is not None:
        return
    from moai_deploy.trace.render import live_table, print_report
    from moai_deploy.trace.scan import scan

    with _user_errors():
        if env is not None:
            with _project(spec) as project:
                view = _live(project, env)
            if as_json:
                print_json(view.to_dict())
            else:
                console.print(live_table(view))
            return
        report = scan(project_dir(spec), strict=strict)
    if as_json:
        print_json(report.to_dict())
    else:
        print_report(console, report)
    if not report.passed:
        raise typer.Exit(EXIT_RELEASE_FAILED)


@trace_app.command("diff")
def diff(
    source: Annotated[str, typer.Argument(help="Environment promoted from (e.g. staging).")],
    target: Annotated[str, typer.Argument(help="Environment promoted to (e.g. production).")],
    spec: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """What promoting SOURCE's live release into TARGET would add, remove or change."""
    from moai_deploy.trace.live import diff_specs
    from moai_deploy.trace.render import diff_table

    with _user_errors(), _project(spec) as project:
        before, after = _live(project, source), _live(project, target)
    changes = diff_specs(before, after)
    if as_json:
        print_json(
            {
                "source": before.to_dict(),
                "target": after.to_dict(),
                "changes": [c.to_dict() for c in changes],
            }
        )
    else:
        console.print(diff_table(before, after, changes))
