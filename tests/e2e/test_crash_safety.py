"""The deployer is SIGKILLed at many points of a canary; resume finishes it, abort undoes it.

Real CLI processes, real supervisord instances, real routers, under real load: no request
may fail because the deployer died, and no release may stay in progress after an abort.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from moai_deploy.ledger.store import Ledger, ledger_url
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import control, operations
from moai_deploy.pipeline.operations import DeployOptions

from .conftest import ENV, OTHER_ROUTER, ROUTERS, edit_spec, make_v2, reopen

pytestmark = pytest.mark.slow

CANARY = {
    "type": "canary",
    "steps": [
        {"set_weight": 20},
        {"pause": {"duration": "2s"}},
        {"set_weight": 50},
        {"pause": {"duration": "2s"}},
    ],
    "scale_down_delay": "3s",
}


def _cli(project_dir: Path, *args: str, failpoint: str = "") -> subprocess.Popen[str]:
    env = {**os.environ, "MOAI_DEPLOY_FAILPOINTS": failpoint}
    return subprocess.Popen(
        [sys.executable, "-m", "moai_deploy", *args],
        cwd=project_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for_step(ledger: Ledger, kind: str, nth: int, timeout: float = 90) -> None:
    """Until the `nth` step of `kind` of the newest release is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        releases = ledger.list_releases("hello", ENV, limit=1)
        if releases and releases[0].version == "v2":
            running = [s for s in ledger.steps(releases[0].id) if s.kind == kind]
            if len(running) >= nth and running[nth - 1].outcome == "running":
                return
        time.sleep(0.02)
    raise AssertionError(f"step {kind} #{nth} never ran")


def _served(project_dir: Path) -> str:
    project = reopen(project_dir)
    try:
        url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
        version: str = httpx.get(url, timeout=5).json()["version"]
        return version
    finally:
        project.close()


# Short steps die by failpoint (exactly when the step is recorded, before it acts); long
# ones (seconds) are killed from outside while they run, in the middle of their work.
KILL_POINTS = [
    ("build", 1, "resume", "failpoint"),
    ("start", 1, "abort", "failpoint"),
    ("wait_ready", 1, "resume", "from outside"),
    ("pause", 1, "abort", "from outside"),
    ("set_weight", 2, "abort", "failpoint"),
    ("set_weight", 3, "resume", "failpoint"),
    ("pause", 2, "resume", "from outside"),
    ("scale_down", 1, "resume", "from outside"),
]
# The other router gets the points where routing is mid-change (CI time is bounded).
ON_OTHER_ROUTER = [KILL_POINTS[i] for i in (3, 4, 5)]


# On Docker: killed mid-canary (during a pause with 20 % on the new image), then resumed in
# one run and aborted in another.
ON_DOCKER = [
    pytest.param("pause", 1, then, "from outside", None, "docker", marks=pytest.mark.docker)
    for then in ("resume", "abort")
]


@pytest.mark.parametrize(
    ("kind", "nth", "then", "how", "router", "runtime"),
    [(*point, None, "local") for point in KILL_POINTS]
    + [(*point, OTHER_ROUTER, "local") for point in ON_OTHER_ROUTER]
    + ON_DOCKER,
)
def test_sigkill_then_resume_or_abort(
    project_dir: Path, kind: str, nth: int, then: str, how: str
) -> None:
    project = reopen(project_dir)
    operations.deploy(project, ENV, "v1")
    project.close()
    edit_spec(project_dir, ENV, strategy=CANARY)
    make_v2(project_dir)
    project = reopen(project_dir)
    url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    load = start_load_in_background(url, duration=120, concurrency=4)
    ledger = Ledger.open(ledger_url(project.layout.ledger_db))
    try:
        failpoint = f"{kind}:{nth}" if how == "failpoint" else ""
        deployer = _cli(project_dir, "deploy", ENV, "--version", "v2", failpoint=failpoint)
        if failpoint:
            assert deployer.wait(timeout=120) == -signal.SIGKILL, deployer.communicate()
        else:
            _wait_for_step(ledger, kind, nth)
            os.kill(deployer.pid, signal.SIGKILL)
            deployer.wait(timeout=10)

        shown = subprocess.run(
            [sys.executable, "-m", "moai_deploy", "status", ENV, "--json"],
            cwd=project_dir,
            capture_output=True,
            text=True,
            check=True,
        )
        status = json.loads(shown.stdout)[0]
        release = ledger.list_releases("hello", ENV, limit=1)[0]
        if kind != "scale_down":
            assert [r["version"] for r in status["unfinished"]] == ["v2"]
            assert status["stopped_at"].split(" (")[0].endswith(kind)  # where it stopped
        assert any(s.outcome == "running" for s in ledger.steps(release.id))

        if then == "resume":
            finished = operations.deploy(project, ENV, options=DeployOptions(resume=True))
            assert finished.status == "succeeded"
            assert _served(project_dir) == "2.0.0"
            expected = {"v2"}
        else:
            aborted = control.abort(project, ENV)
            assert aborted.status == "aborted"
            assert _served(project_dir) == "1.0.0"
            expected = {"v1"}
        assert ledger.in_progress("hello", ENV) == []
        assert {i.version for i in project.runtime_for(ENV).list("hello", ENV)} == expected
        audit = [a.action for a in ledger.list_audit("hello", ENV)]
        assert "lock_takeover" in audit  # the dead deployer's lock was taken over, audited
    finally:
        load.stop()
        report = load.result(timeout=30)
        ledger.close()
        project.close()
    assert report.total > 0
    assert report.failed == 0, report.to_dict()  # no request hit a dead upstream


def test_two_concurrent_deploys_one_proceeds_the_other_exits_3(project_dir: Path) -> None:
    project = reopen(project_dir)
    operations.deploy(project, ENV, "v1")
    project.close()
    make_v2(project_dir)
    first = _cli(project_dir, "deploy", ENV, "--version", "v2")
    second = _cli(project_dir, "deploy", ENV, "--version", "v3")
    outputs = [p.communicate(timeout=180) for p in (first, second)]
    codes = sorted([first.returncode, second.returncode])
    assert codes == [0, 3], outputs
    loser = outputs[[first.returncode, second.returncode].index(3)]
    assert "is locked by" in loser[1] and "pid" in loser[1]


@pytest.mark.parametrize("router", ROUTERS)
def test_aborting_a_rolling_update_restores_the_old_instances_it_drained(
    project_dir: Path,
) -> None:
    edit_spec(project_dir, ENV, replicas=3)
    project = reopen(project_dir)
    operations.deploy(project, ENV, "v1")
    project.close()
    rolling = {"type": "rolling", "max_surge": 1, "max_unavailable": 0, "pre_stop_delay": "0.2s"}
    edit_spec(project_dir, ENV, strategy=rolling)
    make_v2(project_dir)
    # Killed as batch 2 begins: batch 1 already replaced one old instance with a new one.
    deployer = _cli(project_dir, "deploy", ENV, "--version", "v2", failpoint="rolling_batch:2")
    assert deployer.wait(timeout=180) == -signal.SIGKILL, deployer.communicate()
    project = reopen(project_dir)
    try:
        before = project.runtime_for(ENV).list("hello", ENV)
        assert sorted(i.version for i in before) == ["v1", "v1", "v2"]

        aborted = control.abort(project, ENV)

        assert aborted.status == "aborted"
        after = project.runtime_for(ENV).list("hello", ENV)
        assert sorted(i.version for i in after) == ["v1", "v1", "v1"]  # capacity is back
        routing = project.router_for(ENV).current(project.route(ENV))
        assert routing is not None and len(routing.backends[0].urls) == 3
        assert _served(project_dir) == "1.0.0"
    finally:
        project.close()
