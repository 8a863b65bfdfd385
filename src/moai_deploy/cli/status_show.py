"""`moai-deploy status`: the light read path when it can answer, else the full one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from moai_deploy.cli import output
from moai_deploy.cli.common import DEFAULT_SPEC, local_service
from moai_deploy.errors import ReleaseFailedError

if TYPE_CHECKING:
    from moai_deploy.paths import StateLayout
    from moai_deploy.pipeline.status_view import EnvironmentStatus


def answered_fast(argv: list[str]) -> bool:
    """Answer a plain `status [ENV] [--json] [--spec PATH]` before typer parses it, when the
    light path can: typer 0.29 builds pydantic adapters to coerce a command's parameters,
    which alone costs more CPU than the whole light status (bench/cli_start.py). Anything
    else (other options, --help, --server, a spec folder, no light answer) is left to typer."""
    if os.environ.get("MOAI_DEPLOY_SERVER"):
        return False
    parsed = _plain_status_args(argv)
    if parsed is None:
        return False
    spec, environment, as_json = parsed
    if spec.is_dir():
        return False  # typer's usage error
    from moai_deploy.pipeline.status_fast import fast_statuses

    fast = fast_statuses(spec, environment)
    if fast is None:
        return False
    _show(*fast, as_json)
    return True


def _plain_status_args(argv: list[str]) -> tuple[Path, str | None, bool] | None:
    if not argv or argv[0] != "status":
        return None
    spec, environment, as_json = DEFAULT_SPEC, None, False
    rest = iter(argv[1:])
    for word in rest:
        if word == "--json" and not as_json:
            as_json = True
        elif word in ("--spec", "-f"):
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None
            spec = Path(value)
        elif word.startswith("--spec="):
            spec = Path(word.removeprefix("--spec="))
        elif not word.startswith("-") and environment is None:
            environment = word
        else:
            return None
    return spec, environment, as_json


def show_status(spec: Path, environment: str | None, as_json: bool) -> None:
    """Print the statuses; exit 1 (ReleaseFailedError) when a live environment's router is down."""
    from moai_deploy.pipeline.status_fast import fast_statuses

    fast = fast_statuses(spec, environment)
    if fast is not None:
        _show(*fast, as_json)
        return
    from moai_deploy.pipeline.status_fast import remember

    with local_service(spec) as service:  # the full path: the service layer's status
        statuses = service.status_views(environment)
        remember(service.project())
        _show(statuses, service.project().layout, as_json)


def _show(statuses: list[EnvironmentStatus], layout: StateLayout, as_json: bool) -> None:
    if as_json:
        output.print_json([s.to_dict() for s in statuses])
    else:
        for item in statuses:
            output.console.print(output.status_table(item.to_dict()))
    down = [s.environment for s in statuses if s.router_down]
    if down:
        raise ReleaseFailedError(
            f"the router is down: {', '.join(down)} not served (exit 1)\n"
            "    fix: the next deploy, rollback or retry starts it again; why it stopped: "
            f"{layout.root / 'routers' / down[0]} (watchdog.log or haproxy.log)"
        )
