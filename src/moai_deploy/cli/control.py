"""Control-plane commands: `server`, `token create|list|revoke`, `approve`, `reject`.

FastAPI and uvicorn are imported only when `server` runs, so `--help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from moai_deploy.cli.common import (
    DEFAULT_SPEC,
    EnvArgument,
    JsonOption,
    SpecOption,
    on_server,
    open_project,
)
from moai_deploy.cli.output import console, print_json

token_app = typer.Typer(
    help="API tokens for the server: create, list, revoke.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the control-plane commands to the CLI."""
    app.command()(server)
    app.command()(ship)
    app.command()(approve)
    app.command()(reject)
    app.add_typer(token_app, name="token")


def server(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port).")] = 8400,
    spec: SpecOption = DEFAULT_SPEC,
) -> None:
    """Serve the REST API (/api/v1), the event stream, the dashboard (/) and /metrics."""
    from moai_deploy.server.run import serve

    serve(spec, host, port)


def ship(
    version: Annotated[str | None, typer.Option(help="Version label (default: short sha).")] = None,
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
) -> None:
    """Run the spec's pipeline: each stage deploys its environment and runs its tests.

    A failure stops the pipeline and rolls that stage back (exit 1); later stages never run.
    With --server, the server runs it (this command follows it until it is done).
    """
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.ship(version, as_json)
    from moai_deploy.cli.common import reporter_for
    from moai_deploy.pipeline.ship import ship as run_ship

    with open_project(spec) as project:
        record = run_ship(project, version, reporter_for(as_json))
        if as_json:
            print_json(record.to_dict())
            return
        console.print(f"[green]✓[/] pipeline #{record.id} {record.version}: {record.status}")


def approve(
    environment: EnvArgument,
    comment: Annotated[str, typer.Option(help="Why (recorded).")] = "",
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
) -> None:
    """Approve the release waiting in ENVIRONMENT (not one you deployed yourself)."""
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.approve(environment, comment, as_json)
    from moai_deploy.pipeline.approvals import approve as approve_release

    with open_project(spec) as project:
        tally = approve_release(project, environment, comment)
        if as_json:
            print_json(tally.to_dict())
            return
        state = "approved" if tally.approved else "waiting"
        console.print(
            f"[green]✓[/] approval recorded: {len(tally.approvers)}/{tally.required} ({state})"
        )


def reject(
    environment: EnvArgument,
    reason: Annotated[str, typer.Option(help="Why (required; recorded).")],
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
) -> None:
    """Reject the release waiting in ENVIRONMENT: it is aborted, stable keeps the traffic."""
    if on_server():
        from moai_deploy.cli import remote_commands

        return remote_commands.control(environment, "reject", {"reason": reason}, as_json)
    from moai_deploy.pipeline.approvals import reject as reject_release

    with open_project(spec) as project:
        release = reject_release(project, environment, reason)
        if as_json:
            print_json(release.to_dict())
            return
        console.print(
            f"[yellow]rejected[/] release #{release.id} {release.version}: {release.status}"
        )


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Who the token is for (recorded as the actor).")],
    role: Annotated[str, typer.Option(help="viewer, deployer, approver or admin.")],
    env: Annotated[
        str | None, typer.Option("--env", help="Only this environment (default: all).")
    ] = None,
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
) -> None:
    """Create an API token; it is shown once and stored only as a hash."""
    from moai_deploy.ledger.tokens import parse_role
    from moai_deploy.pipeline.access import create_token

    with open_project(spec) as project:
        token, record = create_token(project, name, parse_role(role), env)
        if as_json:
            print_json({**record.to_dict(), "token": token})
            return
        console.print(f"[green]✓[/] token {record.name} ({record.role.value}) created.")
        console.print("It is shown once; store it now:", highlight=False)
        print(token)  # plain, so it can be piped


@token_app.command("list")
def token_list(spec: SpecOption = DEFAULT_SPEC, as_json: JsonOption = False) -> None:
    """Every token: name, role, scope, created, revoked (never the values)."""
    from moai_deploy.ledger.tokens import TokenStore

    with open_project(spec) as project:
        tokens = TokenStore(project.ledger).list()
        if as_json:
            print_json([t.to_dict() for t in tokens])
            return
        for t in tokens:
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "live"
            console.print(f"{t.name}\t{t.role.value}\t{t.environment or '*'}\t{state}")


@token_app.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")], spec: SpecOption = DEFAULT_SPEC
) -> None:
    """Revoke a token: it stops working at once."""
    from moai_deploy.pipeline.access import revoke_token

    with open_project(spec) as project:
        revoke_token(project, name)
        console.print(f"[green]✓[/] token {name} revoked")
