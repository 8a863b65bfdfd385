"""`moai-deploy monitor up|down|status`: the local Prometheus + Alertmanager of a project."""

from __future__ import annotations

import typer

from moai_deploy.cli.common import DEFAULT_SPEC, JsonOption, SpecOption, open_project
from moai_deploy.cli.output import console, print_json

monitor_app = typer.Typer(
    help="Local monitoring: Prometheus with the rendered alerts, Alertmanager, a receiver.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add `monitor` to the CLI."""
    app.add_typer(monitor_app, name="monitor")


@monitor_app.command("up")
def up(spec: SpecOption = DEFAULT_SPEC) -> None:
    """Start Prometheus (scraping Traefik and every instance), Alertmanager and the receiver."""
    from moai_deploy.monitor import stack

    with open_project(spec) as project:
        state = stack.up(project)
        paths = stack.paths_of(project)
    ports = state.ports
    console.print(f"[green]✓[/] Prometheus   http://127.0.0.1:{ports.prometheus}")
    console.print(f"[green]✓[/] Alertmanager http://127.0.0.1:{ports.alertmanager}")
    console.print(f"[green]✓[/] alerts are delivered to {paths.alerts_log}")


@monitor_app.command("down")
def down(spec: SpecOption = DEFAULT_SPEC) -> None:
    """Stop the stack's processes (by their recorded pids)."""
    from moai_deploy.monitor import stack

    with open_project(spec) as project:
        stopped = stack.down(project)
    console.print(f"[green]✓[/] stopped {', '.join(stopped) if stopped else 'nothing'}")


@monitor_app.command("status")
def status(spec: SpecOption = DEFAULT_SPEC, as_json: JsonOption = False) -> None:
    """Each part's pid, port and readiness; scrape targets; pending and firing alerts."""
    from moai_deploy.monitor import alerts, stack

    with open_project(spec) as project:
        parts = stack.status(project)
        url = stack.prometheus_url(project)
        health = alerts.target_health(url) if url else {}
        found = [
            alert
            for env in project.loaded.spec.environments
            for alert in (alerts.alerts(url, project.service, env) if url else [])
        ]
    if as_json:
        print_json(
            {
                "parts": [vars(p) for p in parts],
                "targets": health,
                "alerts": [vars(a) for a in found],
            }
        )
        return
    for part in parts:
        mark = "[green]✓[/]" if part.ready else "[red]✗[/]"
        console.print(f"{mark} {part.name:<12} pid {part.pid}  port {part.port}")
    if health:
        console.print(f"targets: {health['up']} up, {health['down']} down")
    for alert in found:
        console.print(f"[red]{alert.state}[/] {alert.describe()}", highlight=False)
