"""`moai-deploy render` and `moai-deploy diff`: deployment artifacts from the spec.

Exit codes: 0 ok (for diff: no difference), 1 differences found (diff, --consistency),
2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from moai_deploy.cli.output import console
from moai_deploy.errors import BadInputError
from moai_deploy.paths import SPEC_FILE_NAME, StateLayout

if TYPE_CHECKING:  # the models and the renderers load when a command runs (cli/main.py)
    from moai_deploy.spec.loader import LoadedSpec

SpecOption = Annotated[Path, typer.Option("--spec", "-f", help="The spec file.", dir_okay=False)]
TargetOption = Annotated[
    list[str] | None, typer.Option("--target", "-t", help="Target(s) to render (repeatable).")
]
VersionOption = Annotated[
    str | None, typer.Option("--version", help="Version label (default: short commit sha).")
]
DEFAULT_SPEC = Path(SPEC_FILE_NAME)


def _version(loaded: LoadedSpec, version: str | None) -> str:
    from moai_deploy.build.snapshot import inspect_source

    if version:
        return version
    found = inspect_source(loaded.project_dir).default_version()
    if found is None:
        raise BadInputError("no git commit to name the version\n    fix: pass --version V")
    return found


def render_command(
    environment: Annotated[str | None, typer.Argument(help="Environment to render.")] = None,
    target: TargetOption = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default rendered/ENV).")] = None,
    version: VersionOption = None,
    consistency: Annotated[
        bool, typer.Option(help="List differences between environments not from overlays.")
    ] = False,
    spec: SpecOption = DEFAULT_SPEC,
) -> None:
    """Write the deployment artifacts of ENVIRONMENT (Docker, compose, Kubernetes, cloud, CI)."""
    from moai_deploy.render import render as render_files
    from moai_deploy.render import select_targets
    from moai_deploy.render.artifacts import write_files
    from moai_deploy.spec.loader import load_spec

    loaded = load_spec(spec)
    label = _version(loaded, version)
    if consistency:
        raise typer.Exit(_consistency(loaded, label))
    if environment is None:
        raise BadInputError("name the environment to render, or pass --consistency")
    files = render_files(loaded.spec, environment, label, select_targets(loaded.spec, target))
    folder = out or loaded.project_dir / "rendered" / environment
    write_files(folder, files)
    console.print(f"[green]✓[/] {len(files)} file(s) for {environment} ({label}) in {folder}")


def _consistency(loaded: LoadedSpec, version: str) -> int:
    from moai_deploy.render.consistency import undeclared_differences

    found = undeclared_differences(loaded.spec, version)
    if not found:
        console.print("[green]✓[/] environments differ only by their declared overlays")
        return 0
    for item in found:
        console.print(
            f"[yellow]{item.environment}[/] vs {item.reference}: {item.path}", highlight=False
        )
        for line in item.diff[2:]:
            console.print(f"    {line}", highlight=False, markup=False)
    console.print(f"{len(found)} file(s) differ by more than the declared overlays")
    return 1


def _release_files(
    loaded: LoadedSpec, environment: str, against: str | None
) -> tuple[str, dict[str, str]]:
    """The artifacts to compare with: a folder, a release id, a version, or the live release."""
    from moai_deploy.render.artifacts import load_release_artifacts, read_tree

    if against is not None and Path(against).is_dir():
        return against, read_tree(Path(against))
    state = StateLayout.for_project(loaded.project_dir).root
    if against is not None and against.lstrip("#").isdigit():
        release_id = int(against.lstrip("#"))
    else:
        release_id = _find_release(loaded, environment, against)
    return f"release-{release_id}", load_release_artifacts(state, release_id)


def _find_release(loaded: LoadedSpec, environment: str, version: str | None) -> int:
    from moai_deploy.pipeline.project import Project

    project = Project(loaded, StateLayout.for_project(loaded.project_dir))
    try:
        service = loaded.spec.service.name
        ledger = project.ledger
        record = (
            ledger.find_release(service, environment, version)
            if version
            else ledger.live_release(service, environment)
        )
    finally:
        project.close()
    if record is None:
        what = f"version {version}" if version else "a live release"
        raise BadInputError(
            f"{environment} has no {what}\n    fix: pass --against DIR or a release id"
        )
    return record.id


def diff_command(
    environment: Annotated[str, typer.Argument(help="Environment to render and compare.")],
    target: TargetOption = None,
    against: Annotated[
        str | None,
        typer.Option(help="A folder, a release id or version (default: the live release)."),
    ] = None,
    version: VersionOption = None,
    spec: SpecOption = DEFAULT_SPEC,
) -> None:
    """Unified diff between what would be rendered now and a folder or an earlier release."""
    from moai_deploy.render import render as render_files
    from moai_deploy.render import select_targets
    from moai_deploy.render.artifacts import unified_diff
    from moai_deploy.spec.loader import load_spec

    loaded = load_spec(spec)
    targets = select_targets(loaded.spec, target)
    new = render_files(loaded.spec, environment, _version(loaded, version), targets)
    label, old = _release_files(loaded, environment, against)
    if target:
        prefixes = tuple(f"{name}/" for name in targets)
        old = {path: text for path, text in old.items() if path.startswith(prefixes)}
    text = unified_diff(old, new, label, "rendered")
    if not text:
        console.print(f"[green]✓[/] no difference with {label}")
        return
    typer.echo(text, nl=False)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `render` and `diff` to the CLI."""
    app.command("render")(render_command)
    app.command("diff")(diff_command)
