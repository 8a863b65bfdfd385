"""What each release leaves behind: its SBOM (CycloneDX, from the real release environment)
and `sbom diff` between two releases that differ by exactly one dependency."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from moai_deploy.cli.main import app
from moai_deploy.pipeline import operations
from moai_deploy.runtime.base import Artifact
from moai_deploy.sbom.artifact import sbom_of_artifact
from moai_deploy.sbom.cyclonedx import packages
from moai_deploy.sbom.store import sbom_path

from .conftest import ENV, reopen

pytestmark = pytest.mark.slow
EXTRA = "six==1.17.0"  # no dependencies of its own: adding it adds exactly one package


def _add_dependency(project_dir: Path, requirement: str) -> None:
    pyproject = project_dir / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace(
            '"prometheus-client>=0.20",', f'"prometheus-client>=0.20",\n    "{requirement}",'
        )
    )
    assert requirement in pyproject.read_text()
    subprocess.run(["git", "commit", "-qam", f"add {requirement}"], cwd=project_dir, check=True)


def test_each_release_keeps_an_sbom_and_diff_lists_exactly_the_added_dependency(
    project_dir: Path,
) -> None:
    project = reopen(project_dir)
    try:
        first = operations.deploy(project, ENV, "v1")
        _add_dependency(project_dir, EXTRA)
        second = operations.deploy(project, ENV, "v2")
        root = project.layout.root
        # The image path, through the runtime protocol only: an artifact without a local
        # interpreter is listed by a one-off command run in it (here the local driver's).
        recorded = Artifact.from_meta(project.ledger.get_release(second.id).meta["artifact"])
        assert recorded is not None
        opaque = dataclasses.replace(recorded, facts={})
        listed = sbom_of_artifact(
            project.driver("local"), opaque, project.service, ENV, project_dir / "cache"
        )
    finally:
        project.close()

    for release in (first, second):
        path = sbom_path(root, release.id)
        bom = json.loads(path.read_text())
        assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
        assert {"fastapi", "uvicorn", "prometheus-client"} <= set(packages(bom))
        assert bom["metadata"]["component"]["name"] == "hello-service"
        assert path.stat().st_mode & 0o077 == 0  # owner only

    assert packages(listed) == packages(json.loads(sbom_path(root, second.id).read_text()))

    spec = str(project_dir / "moai-deploy.yaml")
    runner = CliRunner()
    done = runner.invoke(app, ["sbom", "diff", str(first.id), str(second.id), "-f", spec])
    assert done.exit_code == 1, done.output  # differences found
    assert done.output.splitlines() == ["+ six 1.17.0"]

    as_json = runner.invoke(app, ["sbom", "diff", "v1", "v2", "--json", "-f", spec])
    data = json.loads(as_json.output)
    assert data["added"] == {"six": "1.17.0"}
    assert data["removed"] == {} and data["changed"] == {}

    same = runner.invoke(app, ["sbom", "diff", "v2", f"#{second.id}", "-f", spec])
    assert same.exit_code == 0 and "same packages" in same.output
    missing = subprocess.run(
        [sys.executable, "-m", "moai_deploy", "sbom", "diff", "v1", "v9", "-f", spec],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2 and "no release of version 'v9'" in missing.stderr
