"""The `moai-deploy` command line. Exit codes: 0 ok, 1 release failed or rolled back,
2 bad input, 3 locked/conflict.

How to add a command (it keeps `moai-deploy --help` fast, see cli/__init__.py):
at module level a command module imports only the standard library, typer,
`moai_deploy.cli.common` and `moai_deploy.errors`; everything else (the spec models, the
ledger, providers, pipeline) is imported inside the command's body. Declare the command
with `@app.command()` here, or in its own module with a `register(app)` function called at
the bottom of this file. `tests/unit/test_cli_lazy.py` fails if `--help` imports the
heavy modules.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from moai_deploy import __version__
from moai_deploy.cli import (
    control,
    doctor,
    gates,
    logs,
    monitor,
    ops,
    render,
    sbom,
    spec_commands,
    trace,
)
from moai_deploy.cli.common import (
    DEFAULT_SPEC,
    REMOTE,
    EnvArgument,
    JsonOption,
    LockWaitOption,
    ServerOption,
    SpecOption,
    TokenFileOption,
    TokenOption,
    WaitOption,
    console,
    local_service,
    on_server,
    parse_lock_wait,
    print_json,
    rollout_reporter,
)
from moai_deploy.cli.exits import fail, os_error_text
from moai_deploy.errors import MoaiError

app = typer.Typer(
    name="moai-deploy",
    help="Gated, progressive, traceable releases of Python web services from one spec.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def deploy(
    environment: EnvArgument,
    version: Annotated[
        str | None, typer.Option(help="Version label (default: short commit sha).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the release a killed deploy left.")
    ] = False,
    lock_wait: LockWaitOption = "0",
    force: Annotated[
        bool, typer.Option("--force", help="Deploy although a required gate failed.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option(help="Why --force (required with it; audited).")
    ] = None,
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
    wait: WaitOption = False,
) -> None:
    """Release the current commit to ENVIRONMENT with its strategy (zero downtime).

    The gates ENVIRONMENT requires run first (from cache when nothing changed); a failing
    one refuses the deploy (exit 1) unless `--force --reason TEXT`, which the audit log records.
    With --server, it returns once the release is live (or waits at a pause or approval);
    the server carries out the rest. --wait blocks until the release is finished.
    """
    if force != (reason is not None):
        raise typer.BadParameter("--force and --reason TEXT go together", param_hint="--force")
    if on_server():
        from moai_deploy.cli import remote_commands as remote

        how = remote.How(parse_lock_wait(lock_wait), wait, as_json)
        return remote.deploy(environment, version, resume, reason, how)
    from moai_deploy.pipeline.operations import DeployOptions

    with local_service(spec) as service:
        service.check_environment(environment)
        if not as_json:
            console.print(f"[bold]deploy[/] {service.service_name()} -> {environment}")
        options = DeployOptions(lock_wait=parse_lock_wait(lock_wait), resume=resume)
        with rollout_reporter(service.project(), environment, as_json) as reporter:
            release = service.deploy(environment, version, reason, options, reporter)
        _done(release, as_json, f"release #{release['id']} {release['version']} is live")


@app.command()
def rollback(
    environment: EnvArgument,
    to: Annotated[str | None, typer.Option("--to", help="Version to return to.")] = None,
    lock_wait: LockWaitOption = "0",
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
    wait: WaitOption = False,
) -> None:
    """Switch ENVIRONMENT back to the previous (or --to) succeeded release."""
    if on_server():
        from moai_deploy.cli import remote_commands as remote

        return remote.rollback(
            environment, to, remote.How(parse_lock_wait(lock_wait), wait, as_json)
        )
    from moai_deploy.pipeline.operations import DeployOptions

    with local_service(spec) as service:
        service.check_environment(environment)
        if not as_json:
            console.print(f"[bold]rollback[/] {service.service_name()} {environment}")
        options = DeployOptions(lock_wait=parse_lock_wait(lock_wait))
        with rollout_reporter(service.project(), environment, as_json) as reporter:
            release = service.rollback(environment, to, options, reporter)
        _done(release, as_json, f"release #{release['id']} {release['version']} is live again")


def _done(data: dict[str, object], as_json: bool, message: str) -> None:
    if as_json:
        print_json(data)
    else:
        console.print(f"[green]✓[/] {message}")


@app.command()
def status(
    environment: Annotated[
        str | None, typer.Argument(help="One environment (default: all).")
    ] = None,
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
) -> None:
    """What runs where: live release, instances (pid, port, version, ready), weights."""
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.status(environment, as_json)
    from moai_deploy.cli.status_show import show_status

    show_status(spec, environment, as_json)


@app.command()
def history(
    environment: Annotated[
        str | None, typer.Argument(help="One environment (default: all).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many releases.")] = 20,
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
) -> None:
    """Releases, newest first."""
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.history(environment, limit, as_json)
    from moai_deploy.cli import output

    with local_service(spec) as service:
        releases = service.releases(environment, limit)
        if as_json:
            print_json(releases)
        else:
            console.print(output.releases_table(releases, f"releases of {service.service_name()}"))


@app.command()
def down(environment: EnvArgument, spec: SpecOption = DEFAULT_SPEC) -> None:
    """Stop every instance of ENVIRONMENT and remove its route."""
    with local_service(spec) as service:
        stopped = service.down(environment)
        console.print(f"[green]✓[/] {environment}: stopped {stopped} instance(s)")


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Project folder.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing spec.")] = False,
) -> None:
    """Read the project (app, server, dependencies, health, release command, persistent
    paths) and write a commented moai-deploy.yaml that deploys it."""
    from moai_deploy.init import write_spec

    path, detected = write_spec(directory, force=force)
    console.print(f"[green]✓[/] wrote {path}: {detected.summary()}", highlight=False)
    for note in (f"health: {detected.health.reason}", *detected.notes, *detected.release.notes):
        console.print(f"  · {note}", highlight=False, markup=False)
    if detected.required_env:
        names = ", ".join(detected.required_env)
        console.print(f"  · put the values of {names} in .secrets.env (kept out of git)")
    console.print("  · gates: staging requires ruff and secrets, production all of them")


@app.command()
def demo(
    example: Annotated[Path | None, typer.Option(help="Example service folder.")] = None,
    tail: Annotated[
        float,
        typer.Option(min=0.5, help="Seconds of steady load before v2 and after the rollback."),
    ] = 3.0,
    runtime: Annotated[
        str, typer.Option(help="Where the demo runs: local (default) or docker.")
    ] = "local",
) -> None:
    """Deploy v1, switch to v2 blue-green under load, roll back, and count every request.

    The clients run from before the switch until TAIL seconds after the rollback finished,
    however long the releases take, so every phase is measured.
    """
    from moai_deploy.cli.demo import run_demo

    if runtime not in ("local", "docker"):
        raise typer.BadParameter("use local or docker", param_hint="--runtime")
    raise typer.Exit(run_demo(example, tail, runtime))


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"moai-deploy {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
    server: ServerOption = None,
    token: TokenOption = None,
    token_file: TokenFileOption = None,
) -> None:
    """moai-deploy: one spec, gated progressive releases, a ledger of everything."""
    REMOTE.url, REMOTE.token, REMOTE.token_file = server or None, token, token_file


for _commands in (spec_commands, ops, trace, render, gates, sbom, logs, control, doctor, monitor):
    _commands.register(app)


def run() -> None:
    """Console-script entry point: map errors to exit codes, no tracebacks for users.

    Usage errors exit 2 through typer's own handling (standalone mode).
    """
    from moai_deploy.cli.status_show import answered_fast

    try:
        if answered_fast(sys.argv[1:]):
            sys.exit(0)  # as typer's standalone mode ends a command
        app()
    except MoaiError as exc:
        fail(str(exc), exc.exit_code)
    except OSError as exc:  # the machine, not the input: a full disk, a read-only folder
        fail(os_error_text(exc), 1)
