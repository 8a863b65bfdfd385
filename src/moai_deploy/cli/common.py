"""Options and helpers every CLI command shares.

Light on purpose: every command module imports this at start-up, so nothing here may
import the spec models, the ledger or a provider at module level (see cli/main.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moai_deploy.cli import output
from moai_deploy.cli.output import console, err_console, print_json
from moai_deploy.paths import SPEC_FILE_NAME

if TYPE_CHECKING:
    from moai_deploy.pipeline.project import Project
    from moai_deploy.rollout.reporter import Reporter
    from moai_deploy.service import ControlService

__all__ = [
    "DEFAULT_SPEC",
    "EnvArgument",
    "JsonOption",
    "LockWaitOption",
    "SpecOption",
    "console",
    "err_console",
    "local_service",
    "on_server",
    "open_project",
    "parse_lock_wait",
    "print_json",
    "reporter_for",
    "rollout_reporter",
]

SpecOption = Annotated[Path, typer.Option("--spec", "-f", help="The spec file.", dir_okay=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
EnvArgument = Annotated[str, typer.Argument(help="Environment name from the spec.")]
DEFAULT_SPEC = Path(SPEC_FILE_NAME)
LockWaitOption = Annotated[
    str, typer.Option(help="Wait this long for the environment's lock, e.g. 30s or 5m.")
]
WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait", help="With --server: block until the release is finished, not just live."
    ),
]


@dataclass
class RemoteSettings:
    """The global `--server`, `--token`, `--token-file` (set by the CLI's callback)."""

    url: str | None = None
    token: str | None = None
    token_file: Path | None = None


REMOTE = RemoteSettings()
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="MOAI_DEPLOY_SERVER",
        help="Run the command on this moai-deploy server (http://HOST:PORT) instead of here.",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="MOAI_DEPLOY_TOKEN",
        show_envvar=True,
        help="API token for --server (prefer the env var or --token-file: argv is visible).",
    ),
]
TokenFileOption = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        envvar="MOAI_DEPLOY_TOKEN_FILE",
        dir_okay=False,
        help="File holding the API token, mode 0600 (default ~/.config/moai-deploy/token).",
    ),
]


def on_server() -> bool:
    """Whether the command goes to a server (--server or MOAI_DEPLOY_SERVER)."""
    return REMOTE.url is not None


@contextmanager
def open_project(spec: Path) -> Iterator[Project]:
    """The project of `spec`; its ledger is closed afterwards."""
    from moai_deploy.pipeline.project import Project

    project = Project.open(spec)
    try:
        yield project
    finally:
        project.close()


@contextmanager
def local_service(spec: Path) -> Iterator[ControlService]:
    """The service layer for one command on this machine (the server runs the same one)."""
    from moai_deploy.service import ControlService

    with ControlService.for_command(spec) as service:
        yield service


def reporter_for(as_json: bool) -> Reporter:
    """JSON lines for machines, step lines for people."""
    return output.JsonReporter() if as_json else output.RichReporter()


@contextmanager
def rollout_reporter(project: Project, environment: str, as_json: bool) -> Iterator[Reporter]:
    """JSON lines for CI; on a terminal the live view with per-version traffic; else lines."""
    if as_json or not output.console.is_terminal:
        yield reporter_for(as_json)
        return
    from moai_deploy.cli.live import LiveReporter, TrafficStats

    window_stats = project.traffic_stats(environment)

    def stats(backend: str) -> TrafficStats | None:
        return window_stats(backend, 5.0)

    with LiveReporter(stats, output.console) as live:
        yield live


def parse_lock_wait(text: str) -> float:
    """A --lock-wait duration in seconds; a bad one is a usage error (exit 2)."""
    from moai_deploy.spec._types import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lock-wait") from None
    if not isinstance(value, float):
        raise typer.BadParameter(f"{text!r} is not a duration", param_hint="--lock-wait")
    return value
