"""Deploys run the gates their environment requires first; a failing one refuses the deploy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.ledger.gate_store import GateStore
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.operations import DeployOptions

from .conftest import ENV, reopen

pytestmark = pytest.mark.slow


def _require_ruff(project_dir: Path) -> None:
    spec = project_dir / "moai-deploy.yaml"
    spec.write_text(spec.read_text() + f"\ngates:\n  required:\n    {ENV}: [ruff]\n")
    (project_dir / "app" / "sloppy.py").write_text("import os\nimport sys\n")  # F401 twice
    subprocess.run(["git", "-C", str(project_dir), "add", "-A"], check=True)
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@l",
            "-C",
            str(project_dir),
            "commit",
            "-qm",
            "sloppy file",
        ],
        check=True,
    )


def test_failing_required_gate_refuses_then_force_is_audited(project_dir: Path) -> None:
    _require_ruff(project_dir)
    project = reopen(project_dir)
    try:
        with pytest.raises(ReleaseFailedError) as refused:
            operations.deploy(project, ENV, "v1")
        message = str(refused.value)
        assert "ruff: failed" in message and "app/sloppy.py:1" in message and "F401" in message
        assert project.ledger.list_releases(project.service, ENV) == []  # nothing shipped
        assert project.runtime_for(ENV).list(project.service, ENV) == []

        release = operations.deploy(
            project, ENV, "v1", options=DeployOptions(force_reason="hotfix, lint later")
        )
        assert release.status == "succeeded"
        audit = {a.action: a for a in project.ledger.list_audit(project.service, ENV)}
        assert audit["force"].detail["reason"] == "hotfix, lint later"
        assert audit["force"].detail["gates"] == ["ruff"]
        runs = GateStore(project.ledger).for_release(release.id)
        assert runs and not runs[0].passed
    finally:
        project.close()
