"""Rollout operations on the command line: abort, promote, pause, resume, retry, lock, audit."""

from __future__ import annotations

from typing import Annotated

import typer

from moai_deploy.cli import output
from moai_deploy.cli.common import (
    DEFAULT_SPEC,
    EnvArgument,
    JsonOption,
    SpecOption,
    WaitOption,
    on_server,
    open_project,
    parse_lock_wait,
    reporter_for,
)
from moai_deploy.cli.output import console, print_json
from moai_deploy.errors import LockedError

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
    from moai_deploy.pipeline import control

    with open_project(spec) as project:
        release = control.abort(project, environment, reporter_for(as_json))
        _show(
            release.to_dict(), as_json, f"release #{release.id} {release.version}: {release.status}"
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
    from moai_deploy.pipeline import control

    with open_project(spec) as project:
        release = control.promote(project, environment, full, reporter_for(as_json))
        _show(
            release.to_dict(),
            as_json,
            f"promote requested for release #{release.id} ({release.status})",
        )


def pause(environment: EnvArgument, spec: SpecOption = DEFAULT_SPEC) -> None:
    """Hold the rollout at its next step boundary."""
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.set_paused(environment, True)
    from moai_deploy.pipeline import control

    with open_project(spec) as project:
        release = control.set_paused(project, environment, True)
        console.print(f"[yellow]paused[/] release #{release.id} {release.version}")


def resume(environment: EnvArgument, spec: SpecOption = DEFAULT_SPEC) -> None:
    """Let a paused rollout go on (a killed deployer is resumed with `deploy --resume`)."""
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.set_paused(environment, False)
    from moai_deploy.pipeline import control

    with open_project(spec) as project:
        release = control.set_paused(project, environment, False)
        console.print(f"[green]resumed[/] release #{release.id} {release.version}")


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
    from moai_deploy.pipeline import operations

    with open_project(spec) as project:
        options = operations.DeployOptions(lock_wait=parse_lock_wait(lock_wait))
        release = operations.retry(project, environment, reporter_for(as_json), options)
        _show(release.to_dict(), as_json, f"release #{release.id} {release.version} is live")


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

    with open_project(spec) as project:
        if environment:
            project.environment(environment)
        events = project.ledger.list_audit(project.service, environment, limit)
        if as_json:
            print_json([e.to_dict() for e in events])
        else:
            console.print(output.audit_table(events))


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
    from moai_deploy.ledger.events import EventLog

    with open_project(spec) as project:
        if environment:
            project.environment(environment)
        found = EventLog(project.ledger).since(
            after, release=release, service=project.service, environment=environment, limit=limit
        )
        if as_json:
            print_json([e.to_dict() for e in found])
            return
        for e in found:
            console.print(output.event_line(e), highlight=False, markup=False)


@lock_app.command("status")
def lock_status(spec: SpecOption = DEFAULT_SPEC, as_json: JsonOption = False) -> None:
    """Who holds which environment's lock, and whether the holder is alive."""
    from moai_deploy.ledger import locks
    from moai_deploy.rollout.lock import locked_message

    with open_project(spec) as project:
        held = locks.all_locks(project.ledger, project.service)
        if as_json:
            print_json([h.to_dict() for h in held])
            return
        if not held:
            console.print("no locks held")
        for record in held:
            console.print(locked_message(record.service, record.environment, record))


@lock_app.command("acquire")
def lock_acquire(
    environment: EnvArgument,
    message: Annotated[str, typer.Option("--message", "-m", help="Why (shown to others).")],
    spec: SpecOption = DEFAULT_SPEC,
) -> None:
    """Hold the lock by hand (e.g. maintenance): rollouts exit 3 until released."""
    from moai_deploy.ledger import locks
    from moai_deploy.pipeline.preflight import audit
    from moai_deploy.rollout.lock import actor, locked_message

    with open_project(spec) as project:
        project.environment(environment)
        request = locks.LockRequest(actor(), "manual", message=message, manual=True)
        if not locks.try_acquire(project.ledger, project.service, environment, request):
            held = locks.current(project.ledger, project.service, environment)
            if held is not None:
                raise LockedError(locked_message(project.service, environment, held))
        audit(project, environment, "lock_acquire", "succeeded", message=message)
        console.print(f"[green]✓[/] {environment} locked by {actor()}: {message}")


@lock_app.command("release")
def lock_release(
    environment: EnvArgument,
    force: Annotated[bool, typer.Option(help="Break a lock someone else holds.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (required with --force).")] = None,
    spec: SpecOption = DEFAULT_SPEC,
) -> None:
    """Release a manual lock, or break any lock with --force --reason (audited)."""
    from moai_deploy.ledger import locks
    from moai_deploy.pipeline.preflight import audit

    with open_project(spec) as project:
        project.environment(environment)
        if force and not reason:
            raise typer.BadParameter("--force needs --reason TEXT", param_hint="--reason")
        if force:
            broken = locks.force_release(project.ledger, project.service, environment)
            holder = broken.describe() if broken else None
            audit(project, environment, "lock_break", "succeeded", reason=reason, holder=holder)
            console.print(
                f"[yellow]broke[/] lock of {environment}"
                + (f" held by {holder}" if holder else " (none held)")
            )
            return
        if not locks.release(project.ledger, project.service, environment, pid=None):
            raise typer.BadParameter(
                "no manual lock held; use --force --reason to break another holder's"
            )
        audit(project, environment, "lock_release", "succeeded")
        console.print(f"[green]✓[/] {environment} unlocked")


def _show(data: dict[str, object], as_json: bool, message: str) -> None:
    if as_json:
        print_json(data)
    else:
        console.print(message)
