"""`moai-deploy doctor`: what the project's environments need on this machine (runtime
engine, registry, base image, Traefik, supervisord, free ports), each with its fix."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from moai_deploy.cli.common import DEFAULT_SPEC, SpecOption, open_project
from moai_deploy.cli.output import console


def register(app: typer.Typer) -> None:
    """Add `doctor` to the CLI."""
    app.command(name="doctor")(doctor)


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    spec: SpecOption = DEFAULT_SPEC,
) -> None:
    """Check what the spec's environments need here; exit 0 only when everything passes."""
    with open_project(spec) as project:
        checks = project.doctor()
    failed = [c for c in checks if not c.ok]
    if as_json:
        print(json.dumps([c.to_dict() for c in checks], indent=2))
    else:
        for check in checks:
            mark = "[green]ok  [/]" if check.ok else "[red]FAIL[/]"
            detail = f" ({check.detail})" if check.detail else ""
            console.print(
                f"{mark} {check.scope}: {check.name}{detail}", highlight=False, soft_wrap=True
            )
            if check.fix:
                console.print(f"       fix: {check.fix}", highlight=False, soft_wrap=True)
        verdict = "all checks passed" if not failed else f"{len(failed)} problem(s)"
        console.print(f"[{'green' if not failed else 'red'}]{verdict}[/]")
    raise typer.Exit(1 if failed else 0)
