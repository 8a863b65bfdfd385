"""A scratch project (no processes started) served in-process, with a token per role."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from moai_deploy.ledger.tokens import Role
from moai_deploy.pipeline.access import create_token
from moai_deploy.pipeline.project import Project
from moai_deploy.server.api import create_app
from moai_deploy.service import ControlService

GATES = ["ruff", "ruff_format", "mypy", "pytest", "bandit", "pip_audit", "secrets", "trust"]
SPEC = """\
service:
  name: hello
  command: python -m app --port {port}
environments:
  staging: {}
  production:
    approvals: {required: 2, expiry: 1h}
gates:
  required: {}
""" + "".join(f"  {name}: {{enabled: false}}\n" for name in [*GATES, "tags", "hadolint"])


def git_commit(directory: Path) -> None:
    ident = ["-c", "user.name=t", "-c", "user.email=t@l"]
    subprocess.run(["git", "init", "-q", str(directory)], check=True)
    subprocess.run(["git", "-C", str(directory), *ident, "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(directory), *ident, "commit", "-qm", "x"], check=True)


@pytest.fixture
def spec_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MOAI_DEPLOY_STATE", raising=False)
    monkeypatch.delenv("MOAI_DEPLOY_DB", raising=False)
    (tmp_path / "moai-deploy.yaml").write_text(SPEC)
    git_commit(tmp_path)
    return tmp_path / "moai-deploy.yaml"


@pytest.fixture
def tokens(spec_path: Path) -> dict[str, str]:
    """name -> token: one per role, a production-scoped deployer, a revoked admin."""
    project = Project.open(spec_path)
    try:
        made = {role.value: create_token(project, role.value, role, None)[0] for role in Role}
        made["prod-deployer"] = create_token(project, "prod-deployer", Role.DEPLOYER, "production")[
            0
        ]
        made["staging-deployer"] = create_token(
            project, "staging-deployer", Role.DEPLOYER, "staging"
        )[0]
        made["revoked"] = create_token(project, "revoked", Role.ADMIN, None)[0]
        from moai_deploy.pipeline.access import revoke_token

        revoke_token(project, "revoked")
        return made
    finally:
        project.close()


@pytest.fixture
def service(spec_path: Path) -> Iterator[ControlService]:
    svc = ControlService(spec_path)
    yield svc
    svc.close()


@pytest.fixture
def client(service: ControlService, tokens: dict[str, str]) -> Iterator[TestClient]:
    app = create_app(service, live_samples=False)
    app.state.stream_max_seconds = 1.5
    with TestClient(app) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
