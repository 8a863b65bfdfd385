"""Blue-green on the local runtime with each real router, real supervisord and the real example."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.pipeline.status import environment_status

from .conftest import (
    ENV,
    ROUTERS,
    ROUTERS_AND_DOCKER,
    RUNTIMES,
    edit_spec,
    make_v2,
    reopen,
    use_router,
)

pytestmark = pytest.mark.slow


def _served_version(project: Project) -> str:
    url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    response = httpx.get(url, timeout=5)
    response.raise_for_status()
    version: str = response.json()["version"]
    return version


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("router", ROUTERS)
def test_first_deploy_serves_through_the_router_and_is_recorded(project: Project) -> None:
    release = operations.deploy(project, ENV, "v1")

    assert release.status == "succeeded"
    assert _served_version(project) == "1.0.0"
    status = environment_status(project, ENV)
    assert status.live is not None and status.live.id == release.id
    assert len(status.instances) == 2
    assert all(v.ready and v.status.state.alive for v in status.instances)  # STARTING: 1st s
    assert all(v.status.version == "v1" and v.status.pid for v in status.instances)
    steps = project.ledger.steps(release.id)
    kinds = [s.kind for s in steps]
    assert kinds == ["build", "start", "wait_ready", "smoke", "set_weight", "promote", "scale_down"]
    assert all(s.outcome == "succeeded" for s in steps)
    audit = project.ledger.list_audit(project.service, ENV)
    assert audit[0].action == "deploy" and audit[0].outcome == "succeeded"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_never_ready_release_fails_and_leaves_traffic_untouched(project_dir: Path) -> None:
    project = reopen(project_dir)
    v1 = operations.deploy(project, ENV, "v1")
    v1_pids = {i.pid for i in project.runtime_for(ENV).list(project.service, ENV)}
    edit_spec(project_dir, ENV, env={"HELLO_NEVER_READY": "1"}, health_check_timeout="8s")
    project = reopen(project_dir)

    with pytest.raises(ReleaseFailedError, match="not ready after 8s"):
        operations.deploy(project, ENV, "v2")

    failed = project.ledger.list_releases(project.service, ENV)[0]
    assert failed.version == "v2" and failed.status == "failed"
    assert project.ledger.live_release(project.service, ENV).id == v1.id  # type: ignore[union-attr]
    remaining = project.runtime_for(ENV).list(project.service, ENV)
    assert {i.pid for i in remaining} == v1_pids  # no orphan of v2 left
    assert all(i.version == "v1" for i in remaining)
    assert _served_version(project) == "1.0.0"
    wait_step = next(s for s in project.ledger.steps(failed.id) if s.kind == "wait_ready")
    assert wait_step.outcome == "failed" and "HTTP 503" in wait_step.detail


@pytest.mark.parametrize(("router", "runtime"), ROUTERS_AND_DOCKER)
def test_switch_and_rollback_under_load_fail_no_request(project_dir: Path) -> None:
    project = reopen(project_dir)
    operations.deploy(project, ENV, "v1")
    make_v2(project_dir)
    url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    load = start_load_in_background(url, duration=240, concurrency=16)
    try:
        assert operations.deploy(project, ENV, "v2").status == "succeeded"
        assert operations.rollback(project, ENV).status == "succeeded"
    finally:
        load.stop()
        report = load.result(timeout=30)
    served = {v for _, counts in report.versions_timeline() for v in counts}
    assert {"1.0.0", "2.0.0"} <= served
    assert report.failed == 0, report.to_dict()
    assert _served_version(project) == "1.0.0"


@pytest.mark.parametrize("router", ROUTERS)
def test_changing_the_router_hands_the_live_routing_over(project_dir: Path, router: str) -> None:
    project = reopen(project_dir)
    operations.deploy(project, ENV, "v1")
    before = project.proxy_for(ENV).chosen.process
    use_router(project_dir, next(r for r in ROUTERS if r != router))
    switched = reopen(project_dir)
    try:
        switched.proxy_for(ENV).ensure_running()  # what the next deploy does first

        assert not before.is_running()  # the old router let go of the ports...
        assert switched.proxy_for(ENV).is_running()
        assert _served_version(switched) == "1.0.0"  # ...the new one serves the same routing
        assert switched.router_for(ENV).current(switched.route(ENV)) == project.router_for(
            ENV
        ).current(project.route(ENV))
        release = operations.deploy(switched, ENV, "v1b")
        assert release.status == "succeeded"
    finally:
        switched.close()
        project.close()


def test_rollback_serves_the_previous_code(project_dir: Path) -> None:
    project = reopen(project_dir)
    operations.deploy(project, ENV, "v1")
    make_v2(project_dir)
    v2 = operations.deploy(project, ENV, "v2")
    assert _served_version(project) == "2.0.0"
    green_pids = [i.pid for i in project.runtime_for(ENV).list(project.service, ENV)]

    back = operations.rollback(project, ENV)

    assert back.version == "v1" and back.rollback_of == v2.id and back.status == "succeeded"
    assert project.ledger.get_release(v2.id).status == "rolled_back"
    assert _served_version(project) == "1.0.0"  # v1's snapshot really runs v1's code
    assert not any(_pid_alive(pid) for pid in green_pids if pid)
    actions = [a.action for a in project.ledger.list_audit(project.service, ENV)]
    assert actions[:3] == ["rollback", "deploy", "deploy"]


def test_rollback_to_a_named_version_and_unknown_version(project_dir: Path) -> None:
    project = reopen(project_dir)
    operations.deploy(project, ENV, "v1")
    make_v2(project_dir)
    operations.deploy(project, ENV, "v2")
    with pytest.raises(Exception, match="no succeeded release of version 'v9'"):
        operations.rollback(project, ENV, to="v9")
    assert operations.rollback(project, ENV, to="v1").version == "v1"


def _cli(project_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moai_deploy", *args],
        cwd=project_dir,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_instances_keep_serving_after_the_cli_exits(project_dir: Path) -> None:
    done = _cli(project_dir, "deploy", ENV, "--version", "v1")
    assert done.returncode == 0, done.stderr

    project = reopen(project_dir)
    assert _served_version(project) == "1.0.0"
    shown = _cli(project_dir, "status", ENV, "--json")
    assert shown.returncode == 0, shown.stderr
    [env_status] = json.loads(shown.stdout)
    assert env_status["live"]["version"] == "v1"
    assert [i["ready"] for i in env_status["instances"]] == [True, True]
    assert all(_pid_alive(i["pid"]) for i in env_status["instances"])
