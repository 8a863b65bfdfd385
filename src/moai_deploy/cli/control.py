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
    local_service,
    on_server,
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

    with local_service(spec) as service:
        record = service.ship(version, reporter_for(as_json))
        if as_json:
            print_json(record)
            return
        console.print(
            f"[green]✓[/] pipeline #{record['id']} {record['version']}: {record['status']}"
        )


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
    with local_service(spec) as service:
        tally = service.approve(environment, comment)
        if as_json:
            print_json(tally)
            return
        state = "approved" if tally["approved"] else "waiting"
        console.print(
            f"[green]✓[/] approval recorded: {len(tally['approvers'])}/{tally['required']} "
            f"({state})"
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
    with local_service(spec) as service:
        release = service.reject(environment, reason)
        if as_json:
            print_json(release)
            return
        console.print(
            f"[yellow]rejected[/] release #{release['id']} {release['version']}: "
            f"{release['status']}"
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
    """Create an API token; it is shown once and stored only as a hash.

    With --server, an admin token creates it there (audited with the admin's name)."""
    from moai_deploy.ledger.tokens import parse_role

    chosen = parse_role(role)
    if on_server():
        from moai_deploy.cli import remote_commands

        made = remote_commands.token_create(name, chosen.value, env)
    else:
        with local_service(spec) as service:
            token, record = service.create_token(name, chosen, env)
            made = {**record.to_dict(), "token": token}
    if as_json:
        print_json(made)
        return
    console.print(f"[green]✓[/] token {made['name']} ({made['role']}) created.")
    console.print("It is shown once; store it now:", highlight=False)
    print(made["token"])  # plain, so it can be piped


@token_app.command("list")
def token_list(spec: SpecOption = DEFAULT_SPEC, as_json: JsonOption = False) -> None:
    """Every token: name, role, scope, created, revoked (never the values)."""
    if on_server():
        from moai_deploy.cli import remote_commands

        tokens = remote_commands.tokens()
    else:
        with local_service(spec) as service:
            tokens = service.tokens()
    if as_json:
        print_json(tokens)
        return
    for t in tokens:
        revoked = t.get("revoked_at")
        state = f"revoked {revoked[:16].replace('T', ' ')}" if revoked else "live"
        console.print(
            f"{t['name']}\t{t['role']}\t{t['environment'] or '*'}\t{state}", highlight=False
        )


@token_app.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")], spec: SpecOption = DEFAULT_SPEC
) -> None:
    """Revoke a token: it stops working at once (on every server of this ledger)."""
    if on_server():
        from moai_deploy.cli import remote_commands

        remote_commands.token_revoke(name)
    else:
        with local_service(spec) as service:
            service.revoke_token(name)
    console.print(f"[green]✓[/] token {name} revoked", highlight=False)
