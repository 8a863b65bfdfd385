"""Commands about the spec itself: `validate`, `config`, `schema` (see cli/main.py for the
lazy-import rule: the spec models load inside each command's body)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from moai_deploy.cli.common import (
    DEFAULT_SPEC,
    EnvArgument,
    JsonOption,
    SpecOption,
    console,
    print_json,
)


def register(app: typer.Typer) -> None:
    """Add the spec commands to the CLI."""
    app.command()(validate)
    app.command()(config)
    app.command()(schema)


def validate(spec: SpecOption = DEFAULT_SPEC) -> None:
    """Check the spec file; every problem is listed with its line and a fix."""
    from moai_deploy.pipeline.ports import check_ports
    from moai_deploy.pipeline.project import Project

    project = Project.open(spec)
    check_ports(project, project.loaded.spec.environments)  # held by another program
    envs = ", ".join(project.loaded.spec.environments)
    console.print(f"[green]✓[/] {spec} is valid: service {project.service}, environments {envs}")


def config(
    environment: EnvArgument, spec: SpecOption = DEFAULT_SPEC, as_json: JsonOption = False
) -> None:
    """Show the merged settings of one environment (secrets masked)."""
    import json

    from moai_deploy.pipeline.project import Project

    project = Project.open(spec)
    merged = project.environment(environment).to_dict(masked=True)
    merged["service"] = project.loaded.spec.service.model_dump(mode="json")
    if as_json:
        print_json(merged)
    else:
        console.print_json(json.dumps(merged, default=str))


def schema(
    markdown: Annotated[bool, typer.Option(help="The README's spec reference instead.")] = False,
) -> None:
    """Print the spec's JSON Schema (for editor completion)."""
    if markdown:
        from moai_deploy.spec.reference import markdown_reference

        sys.stdout.write(markdown_reference())
    else:
        from moai_deploy.spec.schema import spec_json_schema

        print_json(spec_json_schema())
