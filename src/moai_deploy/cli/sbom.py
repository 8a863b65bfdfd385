"""`moai-deploy sbom show|diff`: the CycloneDX SBOM stored with each release.

Exit codes: 0 ok (diff: no difference), 1 differences found (diff), 2 bad input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from moai_deploy.cli.common import DEFAULT_SPEC, JsonOption, SpecOption, open_project
from moai_deploy.cli.output import console, print_json
from moai_deploy.errors import BadInputError

if TYPE_CHECKING:
    from moai_deploy.pipeline.project import Project

sbom_app = typer.Typer(help="Bills of materials (CycloneDX) of the releases.", no_args_is_help=True)
ReleaseArgument = Annotated[str, typer.Argument(help="Release id (e.g. 12 or #12) or version.")]
EnvOption = Annotated[
    str | None, typer.Option("--env", help="Environment a version is looked up in.")
]


def register(app: typer.Typer) -> None:
    """Add `sbom` to the CLI."""
    app.add_typer(sbom_app, name="sbom")


def resolve_release(project: Project, ref: str, environment: str | None) -> int:
    """A release id from '12', '#12' or a version (newest release of it)."""
    from moai_deploy.ledger.store import LedgerError

    text = ref.removeprefix("#")
    if text.isdigit():
        try:
            return project.ledger.get_release(int(text)).id
        except LedgerError:
            raise BadInputError(f"no release #{text}\n    fix: see `moai-deploy history`") from None
    names = [environment] if environment else list(project.loaded.spec.environments)
    found = [project.ledger.find_release(project.service, name, text) for name in names]
    releases = [r for r in found if r is not None]
    if not releases:
        raise BadInputError(f"no release of version {text!r}\n    fix: see `moai-deploy history`")
    return max(r.id for r in releases)


@sbom_app.command("show")
def show(
    release: ReleaseArgument,
    environment: EnvOption = None,
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
) -> None:
    """Print the packages of a release's SBOM (--json: the CycloneDX document)."""
    from moai_deploy.sbom.cyclonedx import packages
    from moai_deploy.sbom.store import load_sbom, sbom_path

    with open_project(spec) as project:
        release_id = resolve_release(project, release, environment)
        bom = load_sbom(project.layout.root, release_id)
        if as_json:
            print_json(bom)
            return
        console.print(f"release #{release_id}: {sbom_path(project.layout.root, release_id)}")
        for name, version in packages(bom).items():
            console.print(f"  {name} {version}", highlight=False)


@sbom_app.command("diff")
def diff(
    old: ReleaseArgument,
    new: ReleaseArgument,
    environment: EnvOption = None,
    spec: SpecOption = DEFAULT_SPEC,
    as_json: JsonOption = False,
) -> None:
    """Packages added (+), removed (-) and changed (~) from release OLD to release NEW."""
    from moai_deploy.sbom.store import diff_sboms, load_sbom

    with open_project(spec) as project:
        ids = [resolve_release(project, ref, environment) for ref in (old, new)]
        boms = [load_sbom(project.layout.root, release_id) for release_id in ids]
    change = diff_sboms(*boms)
    if as_json:
        print_json({"old": ids[0], "new": ids[1], **change.to_dict()})
    elif change.empty:
        console.print(f"release #{ids[0]} and #{ids[1]} hold the same packages")
    else:
        for line in change.lines():
            console.print(line, highlight=False, markup=False)
    if not change.empty:
        raise typer.Exit(1)
