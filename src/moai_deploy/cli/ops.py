"""Rollout operations on the command line: abort, promote, pause, resume, retry, lock, audit."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from moai_deploy.cli import output
from moai_deploy.cli.common import (
    DEFAULT_SPEC,
    EnvArgument,
    JsonOption,
    SpecOption,
    WaitOption,
    local_service,
    on_server,
    parse_lock_wait,
    reporter_for,
)
from moai_deploy.cli.output import console, print_json

# The pipeline, the ledger and the rollout load inside each command (see cli/main.py).

lock_app = typer.Typer(
    help="Inspect, take or break the per-environment rollout lock.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the rollout-operation commands to the CLI."""
    app.command()(abort)
    app.command()(promote)
    app.command()(pause)
    app.command()(resume)
    app.command()(retry)
    app.command(name="audit")(audit_log)
    app.command(name="events")(event_log)
    app.add_typer(lock_app, name="lock")


def abort(
    environment: EnvArgument, spec: SpecOption = DEFAULT_SPEC, as_json: JsonOption = False
) -> None:
    """Send all traffic back to stable at once; the release ends aborted."""
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.control(environment, "abort", {}, as_json)
    with local_service(spec) as service:
        release = service.abort(environment, reporter_for(as_json))
        _show(
            release, as_json, f"release #{release['id']} {release['version']}: {release['status']}"
        )


def promote(
    environment: EnvArgument,
    full: Annotated[
        bool, typer.Option("--full", help="Skip every remaining step and analysis.")
    ] = False,
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
) -> None:
    """Continue a paused rollout (or go straight to 100% with --full)."""
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.control(environment, "promote", {"full": full}, as_json)
    with local_service(spec) as service:
        release = service.promote(environment, full, reporter_for(as_json))
        _show(
            release,
            as_json,
            f"promote requested for release #{release['id']} ({release['status']})",
        )


def pause(environment: EnvArgument, spec: SpecOption = DEFAULT_SPEC) -> None:
    """Hold the rollout at its next step boundary."""
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.set_paused(environment, True)
    with local_service(spec) as service:
        release = service.set_paused(environment, True)
        console.print(f"[yellow]paused[/] release #{release['id']} {release['version']}")


def resume(environment: EnvArgument, spec: SpecOption = DEFAULT_SPEC) -> None:
    """Let a paused rollout go on (a killed deployer is resumed with `deploy --resume`)."""
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.set_paused(environment, False)
    with local_service(spec) as service:
        release = service.set_paused(environment, False)
        console.print(f"[green]resumed[/] release #{release['id']} {release['version']}")


def retry(
    environment: EnvArgument,
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
    lock_wait: Annotated[str, typer.Option(help="Wait this long for the lock, e.g. 30s.")] = "0",
    wait: WaitOption = False,
) -> None:
    """Run the latest aborted or failed release again."""
    if on_server():
        from moai_deploy.cli import remote_commands as remote

        return remote.retry(environment, remote.How(parse_lock_wait(lock_wait), wait, as_json))
    from moai_deploy.pipeline.operations import DeployOptions

    with local_service(spec) as service:
        options = DeployOptions(lock_wait=parse_lock_wait(lock_wait))
        release = service.retry(environment, options, reporter_for(as_json))
        _show(release, as_json, f"release #{release['id']} {release['version']} is live")


def audit_log(
    environment: Annotated[
        str | None, typer.Argument(help="One environment (default: all).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
) -> None:
    """Every action (deploy, promote, abort, rollback, lock, force), newest first."""
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.audit(environment, limit, as_json)
    with local_service(spec) as service:
        _show_audit(service.audit(environment, limit), as_json, "audit log")


def event_log(
    environment: Annotated[
        str | None, typer.Argument(help="One environment (default: all).")
    ] = None,
    release: Annotated[int | None, typer.Option(help="Only this release's events.")] = None,
    after: Annotated[int, typer.Option(min=0, help="Only events after this id.")] = 0,
    limit: Annotated[int, typer.Option(min=1)] = 500,
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
) -> None:
    """The rollout event log, oldest first: transitions, steps, weights, measurements, controls."""
    if on_server():
        from moai_deploy.cli import remote_commands

        found = remote_commands.events(environment, release, after, limit)
    else:
        with local_service(spec) as service:
            found = service.events(environment, release, after, limit)
    if as_json:
        print_json(found)
        return
    for e in found:
        console.print(output.event_line(e), highlight=False, markup=False)


@lock_app.command("status")
def lock_status(spec: SpecOption = DEFAULT_SPEC, as_json: JsonOption = False) -> None:
    """Who holds which environment's lock, and whether the holder is alive."""
    if on_server():
        from moai_deploy.cli import remote_commands

        held = remote_commands.locks()
    else:
        with local_service(spec) as service:
            held = service.locks()
    if as_json:
        print_json(held)
        return
    if not held:
        console.print("no locks held")
    for record in held:
        console.print(record["summary"], highlight=False, markup=False)


@lock_app.command("acquire")
def lock_acquire(
    environment: EnvArgument,
    message: Annotated[str, typer.Option("--message", "-m", help="Why (shown to others).")],
    spec: SpecOption = DEFAULT_SPEC,
) -> None:
    """Hold the lock by hand (e.g. maintenance): rollouts exit 3 until released."""
    if on_server():
        from moai_deploy.cli import remote_commands

        held = remote_commands.lock_acquire(environment, message)
    else:
        with local_service(spec) as service:
            held = service.lock_acquire(environment, message)
    console.print(
        f"[green]✓[/] {environment} locked by {held['holder']}: {message}", highlight=False
    )


@lock_app.command("release")
def lock_release(
    environment: EnvArgument,
    force: Annotated[bool, typer.Option(help="Break a lock someone else holds.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (required with --force).")] = None,
    spec: SpecOption = DEFAULT_SPEC,
) -> None:
    """Release a manual lock, or break any lock with --force --reason (audited)."""
    if force and not reason:
        raise typer.BadParameter("--force needs --reason TEXT", param_hint="--reason")
    force_reason = reason if force else None
    if on_server():
        from moai_deploy.cli import remote_commands

        done = remote_commands.lock_release(environment, force_reason)
    else:
        with local_service(spec) as service:
            done = service.lock_release(environment, force_reason)
    if not force:
        console.print(f"[green]✓[/] {environment} unlocked")
        return
    holder = done.get("broke")
    console.print(
        f"[yellow]broke[/] lock of {environment}"
        + (f" held by {holder}" if holder else " (none held)"),
        highlight=False,
    )


def _show_audit(events: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        print_json(events)
    else:
        console.print(output.audit_table(events, title))


def _show(data: dict[str, object], as_json: bool, message: str) -> None:
    if as_json:
        print_json(data)
    else:
        console.print(message)
