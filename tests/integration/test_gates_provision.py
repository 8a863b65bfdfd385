"""Gates after a plain `pip install moai-deploy` (no dev extra, so no ruff, mypy, bandit,
detect-secrets in its environment): `moai-deploy gate` provisions each tool with uv into
a cached, version-pinned environment, runs mypy and pytest in the project's own
environment, passes on a clean project and fails on real findings; a second run reuses
the provisioned tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from moai_deploy.gates.provision import PINNED

REPO = Path(__file__).parents[2]
FLASK = REPO / "tests" / "fixtures" / "projects" / "flask_factory"
GATES = ["ruff", "mypy", "bandit", "secrets", "pytest", "trust"]
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]


def _uv() -> str:
    return str(Path(sys.executable).with_name("uv"))


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with moai-deploy installed from this checkout, without extras."""
    venv = tmp_path_factory.mktemp("plain") / "venv"
    subprocess.run([_uv(), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([_uv(), "pip", "install", "-q", "--python", python, str(REPO)], check=True)
    for tool in ("ruff", "mypy", "bandit", "detect-secrets", "pytest"):
        assert not (venv / "bin" / tool).exists(), f"{tool} is in the plain install"
    return venv / "bin" / "moai-deploy"


def _gate(cli: Path, project: Path, cache: Path) -> tuple[int, str, float]:
    env = {**os.environ, "MOAI_DEPLOY_CACHE": str(cache), "PATH": "/usr/bin:/bin"}
    argv = [str(cli), "gate", "--no-cache", *(a for g in GATES for a in ("--only", g))]
    started = time.monotonic()
    done = subprocess.run(
        argv, cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


@pytest.mark.slow
def test_plain_install_provisions_tools_and_judges_real_findings(
    plain_install: Path, tmp_path: Path
) -> None:
    project = tmp_path / "notes"
    shutil.copytree(FLASK, project)
    subprocess.run([str(plain_install), "init", str(project)], check=True, capture_output=True)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run([*GIT, "-C", str(project), "add", "-A"], check=True)
    cache = tmp_path / "cache"

    code, out, first = _gate(plain_install, project, cache)
    assert code == 0, out
    assert "✓ mypy passed" in out and "✓ pytest passed" in out  # flask imports resolved
    provisioned = sorted(p.name for p in (cache / "tools").iterdir() if p.is_dir())
    wanted = {f"{PINNED[t][0]}-{PINNED[t][1]}" for t in ("ruff", "mypy", "bandit")}
    assert wanted <= {name.rsplit("-py", 1)[0] for name in provisioned}
    markers = {p: p.stat().st_mtime_ns for p in (cache / "tools").glob("*/.moai-complete")}

    # Real findings: an unused import (ruff), a type error (mypy), a hard-coded password
    # (bandit and detect-secrets).
    (project / "notes" / "bad.py").write_text(
        'import os\n\ncount: int = "three"\npassword = "Sup3rS3cretPassw0rd!xyz"\n'
    )
    code, out, second = _gate(plain_install, project, cache)
    assert code == 1, out
    for gate in ("ruff", "mypy", "bandit", "secrets"):
        assert f"✗ {gate} failed" in out, out
    assert "✓ pytest passed" in out and "✓ trust passed" in out
    again = {p: p.stat().st_mtime_ns for p in (cache / "tools").glob("*/.moai-complete")}
    assert again == markers  # the tools were reused, not rebuilt
    print(f"\ngate with provisioning: {first:.1f}s; second run (tools cached): {second:.1f}s")
