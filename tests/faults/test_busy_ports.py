"""A port another program holds is exit 2 naming the spec key, on both routers, through the
real CLI: `validate` and `deploy` say file:line, key and fix before anything is written; a
port the environment's own router holds is not busy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from moai_deploy.pipeline import operations

from ..e2e.conftest import ROUTERS
from .conftest import ENV, reopen

pytestmark = pytest.mark.slow


def _cli(project_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moai_deploy", *args],
        cwd=project_dir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def _port_line(project_dir: Path, environment: str) -> int:
    lines = (project_dir / "moai-deploy.yaml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{environment}:")
    return next(i for i in range(start, len(lines)) if lines[i].strip().startswith("port:")) + 1


def _held(port: int) -> socket.socket:
    held = socket.socket()
    held.bind(("127.0.0.1", port))
    held.listen()
    return held


@pytest.mark.parametrize("router", ROUTERS)
def test_a_taken_port_is_exit_2_naming_the_key_before_anything_is_written(
    project_dir: Path, router: str
) -> None:
    state = project_dir / ".moai-deploy"
    port = reopen(project_dir).loaded.spec.port_of(ENV)
    with _held(port):
        for command in (["validate"], ["deploy", ENV, "--version", "v1"]):
            result = _cli(project_dir, *command)
            text = result.stdout + result.stderr
            print(f"\n{router} {command[0]}: exit {result.returncode}\n{text.strip()}")
            assert result.returncode == 2, text
            assert f"moai-deploy.yaml:{_port_line(project_dir, ENV)}" in text
            assert f"environments.{ENV}.port" in text and "already in use" in text
            assert "fix:" in text and "Traceback" not in text
            assert not state.exists()  # nothing written: no ledger, no router, no instance

    # The environment's own router holds its port: not busy; another environment's is.
    project = reopen(project_dir)
    try:
        operations.deploy(project, ENV, "v1")
    finally:
        project.close()
    assert _cli(project_dir, "validate").returncode == 0
    staging = reopen(project_dir).loaded.spec.port_of("staging")
    with _held(staging):
        result = _cli(project_dir, "validate")
    text = result.stdout + result.stderr
    assert result.returncode == 2 and "environments.staging.port" in text, text
    assert f"environments.{ENV}.port" not in text
