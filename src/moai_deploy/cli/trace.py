"""`moai-deploy trace`: TAG rules, the SPECs live per environment, promotion diffs.

By default the scan applies MoAI-ADK's validator rules as it applies them; each
`--<difference>` flag turns on one documented difference (`trace/options.py`), and every
report names the mode that ran. Exit codes: 0 ok, 1 the trace has errors (with --strict,
warnings too), 2 bad input.

Light at import (see cli/main.py): the scanner, the ledger and rich load in the command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moai_deploy.errors import EXIT_RELEASE_FAILED, BadInputError, MoaiError
from moai_deploy.trace.options import OPTION_HELP, TraceOptions

if TYPE_CHECKING:
    from moai_deploy.pipeline.project import Project
    from moai_deploy.trace.live import LiveView

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--spec",
        "-f",
        help="The spec file or the project folder \\[default: ./moai-deploy.yaml].",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
_DIFFERENCES = "Differences from MoAI-ADK (each one named in the report)"


def _flag(name: str) -> object:
    return typer.Option(
        f"--{name.replace('_', '-')}", help=OPTION_HELP[name], rich_help_panel=_DIFFERENCES
    )


trace_app = typer.Typer(
    help="SPEC/TAG traceability: MoAI-ADK's TAG rules, what is live where, what a "
    "promotion changes.\n\n"
    "By default the scan reads a tree as MoAI-ADK's validator (v0.22.0) does: every file of "
    "its types (hidden folders and nested .moai/ projects too) minus its substring ignore "
    "patterns; one place per TAG overall (duplicates are errors); orphans at every place; "
    "any @SPEC tag is a SPEC. Each flag under 'Differences from MoAI-ADK' adds one "
    "documented difference (gates.tags takes the same names); the report's first line "
    "names the mode that ran. moai-deploy's own state folder (.moai-deploy/) is never read.",
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
        from moai_deploy.cli.exits import fail

        fail(str(exc), exc.exit_code)


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
    from moai_deploy.paths import SPEC_FILE_NAME

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


def _print_json(data: object) -> None:
    import json
    import sys

    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _show_live(spec: Path | None, env: str, as_json: bool) -> None:
    from moai_deploy.cli.output import console
    from moai_deploy.trace.render import live_table

    with _project(spec) as project:
        view = _live(project, env)
    if as_json:
        _print_json(view.to_dict())
    else:
        console.print(live_table(view))


@trace_app.callback(invoke_without_command=True)
def trace(
    ctx: typer.Context,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings are errors.")] = False,
    env: Annotated[
        str | None, typer.Option("--env", help="List the SPECs live in this environment.")
    ] = None,
    spec: ProjectOption = None,
    as_json: JsonOption = False,
    exact_ignores: Annotated[bool, _flag("exact_ignores")] = False,
    skip_hidden: Annotated[bool, _flag("skip_hidden")] = False,
    separate_nested: Annotated[bool, _flag("separate_nested")] = False,
    skip_binary: Annotated[bool, _flag("skip_binary")] = False,
    file_duplicates: Annotated[bool, _flag("file_duplicates")] = False,
    per_id_orphans: Annotated[bool, _flag("per_id_orphans")] = False,
    declared_specs: Annotated[bool, _flag("declared_specs")] = False,
    frontmatter: Annotated[bool, _flag("frontmatter")] = False,
    all_differences: Annotated[
        bool,
        typer.Option(
            "--all-differences",
            help="Every difference above at once (moai-deploy's own reading).",
            rich_help_panel=_DIFFERENCES,
        ),
    ] = False,
) -> None:
    """Check @TAGs by MoAI-ADK's validator rules (or, with --env, list the SPECs live there).

    Default: exactly as MoAI-ADK's validator (v0.22.0) reads a tree: every file of its
    types, its substring ignore patterns, one place per TAG overall, orphans at every
    place, any @SPEC tag a SPEC. The flags below each add one documented difference.
    """
    if ctx.invoked_subcommand is not None:
        return
    with _user_errors():
        if env is not None:
            _show_live(spec, env, as_json)
            return
        options = TraceOptions(
            exact_ignores, skip_hidden, separate_nested, skip_binary, file_duplicates,
            per_id_orphans, declared_specs, frontmatter,
        )  # fmt: skip
        options = TraceOptions.all() if all_differences else options
        _scan(project_dir(spec), strict, options, as_json)


def _scan(folder: Path, strict: bool, options: TraceOptions, as_json: bool) -> None:
    from moai_deploy.trace.scan import scan

    report = scan(folder, strict=strict, options=options)
    if as_json:
        _print_json(report.to_dict())
    else:
        from moai_deploy.trace.render import print_report

        print_report(report)
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

    with _user_errors(), _project(spec) as project:
        before, after = _live(project, source), _live(project, target)
    changes = diff_specs(before, after)
    if as_json:
        _print_json(
            {
                "source": before.to_dict(),
                "target": after.to_dict(),
                "changes": [c.to_dict() for c in changes],
            }
        )
    else:
        from moai_deploy.cli.output import console
        from moai_deploy.trace.render import diff_table

        console.print(diff_table(before, after, changes))
