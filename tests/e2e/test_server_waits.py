"""Long waits off the caller: through a server, a blue-green deploy returns once the new
colour is live and verified; the server keeps the old colour for `scale_down_delay`,
stops it, records that step, and holds the lock until then (a second deploy exits 3, or
waits for the lock with --lock-wait); `--wait` returns only when the release is done."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from moai_deploy.ledger.tokens import Role
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.access import create_token

from .conftest import ENV, edit_spec, make_v2, reopen
from .server_process import cli, running_server

pytestmark = pytest.mark.slow

DELAY = 30.0  # the default scale_down_delay of blue-green


def _served(project_dir: Path) -> str:
    project = reopen(project_dir)
    try:
        url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    finally:
        project.close()
    version: str = httpx.get(url, timeout=5).json()["version"]
    return version


def _steps(project_dir: Path, release_id: int) -> dict[str, str]:
    project = reopen(project_dir)
    try:
        return {s.kind: s.outcome for s in project.ledger.steps(release_id)}
    finally:
        project.close()


def test_deploy_returns_when_live_and_the_server_scales_down(project_dir: Path) -> None:
    edit_spec(project_dir, ENV, replicas=1, strategy={"type": "blue_green"})
    project = reopen(project_dir)
    try:
        assert project.environment(ENV).strategy.scale_down_delay == DELAY  # the default
        operations.deploy(project, ENV, "v1")
        token, _ = create_token(project, "ci", Role.DEPLOYER, None)
    finally:
        project.close()
    make_v2(project_dir)
    remote = {"MOAI_DEPLOY_TOKEN": token}
    with running_server(project_dir / "moai-deploy.yaml") as url:
        args = ("--server", url, "deploy", ENV, "--version", "v2", "--json")
        started = time.monotonic()
        done = cli(*args, env=remote, cwd=project_dir)
        took = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        release = json.loads(done.stdout)
        print(f"deploy through the server returned after {took:.1f}s")
        assert took < DELAY - 5, took  # the old colour's 30 s are not the caller's
        assert release["status"] == "succeeded" and release["job"]["phase"] == "live"
        assert _served(project_dir) == "2.0.0"
        assert _steps(project_dir, release["id"])["scale_down"] == "running"

        second = cli("--server", url, "deploy", ENV, "--version", "v3", env=remote)
        assert second.returncode == 3, second.stdout + second.stderr
        assert "is locked by ci" in second.stderr and "Traceback" not in second.stderr

        edit_spec(project_dir, ENV, strategy={"type": "blue_green", "scale_down_delay": "2s"})
        args = ("--server", url, "deploy", ENV, "--version", "v3", "--lock-wait", "90s")
        waited = cli(*args, "--wait", "--json", env=remote, cwd=project_dir)
        assert waited.returncode == 0, waited.stderr
        # it got the lock only once the server had stopped v2's old colour...
        assert _steps(project_dir, release["id"])["scale_down"] == "succeeded"
        # ...and --wait returned only after its own release had finished, scale-down included
        third = json.loads(waited.stdout)
        assert third["job"]["state"] == "succeeded"
        assert _steps(project_dir, third["id"])["scale_down"] == "succeeded"
        history = cli("--server", url, "history", ENV, "--json", env=remote)
        versions = [r["version"] for r in json.loads(history.stdout)]
        assert versions[:3] == ["v3", "v2", "v1"]


def test_a_timed_pause_is_kept_by_the_server(project_dir: Path) -> None:
    project = reopen(project_dir)
    try:
        operations.deploy(project, ENV, "v1")
        token, _ = create_token(project, "ci", Role.DEPLOYER, None)
    finally:
        project.close()
    steps = [{"set_weight": 50}, {"pause": {"duration": "15s"}}]
    edit_spec(
        project_dir, ENV, strategy={"type": "canary", "scale_down_delay": "0s", "steps": steps}
    )
    make_v2(project_dir)
    with running_server(project_dir / "moai-deploy.yaml") as url:
        args = ("--server", url, "deploy", ENV, "--version", "v2", "--json")
        started = time.monotonic()
        done = cli(*args, env={"MOAI_DEPLOY_TOKEN": token}, cwd=project_dir)
        assert done.returncode == 0, done.stderr
        release = json.loads(done.stdout)
        assert time.monotonic() - started < 15  # back at the pause, not after it
        assert release["status"] == "in_progress" and release["job"]["phase"] == "waiting"
        assert _steps(project_dir, release["id"])["pause"] == "running"
        deadline = time.monotonic() + 120  # nobody calls: the server ends the pause itself
        job = f"{url}/api/v1/jobs/{release['job']['id']}"
        auth = {"Authorization": f"Bearer {token}"}
        while httpx.get(job, headers=auth, timeout=10).json()["state"] == "running":
            assert time.monotonic() < deadline, _steps(project_dir, release["id"])
            time.sleep(0.5)
        project = reopen(project_dir)
        try:
            finished = project.ledger.get_release(release["id"])
            pause = next(s for s in project.ledger.steps(release["id"]) if s.kind == "pause")
        finally:
            project.close()
        assert finished.status == "succeeded" and pause.detail == "waited 15s"
        assert _served(project_dir) == "2.0.0"
