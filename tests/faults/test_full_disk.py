"""The state folder's disk fills in the middle of a deploy, on both routers, under load: the
stable version keeps serving, the new instances are stopped, and the next command
reconciles the ledger (release failed, lock released) and says so. The state folder is a
small real tmpfs (needs root); figures are printed (run with -s)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_deploy.ledger import locks
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.runtime.local.daemon import pid_alive

from ..e2e.conftest import ROUTERS
from ..leaks import Leak, kill, wait_for_no_leaks
from .conftest import ENV, make_v2, reopen

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root"),
]

CLIENTS = 8
TMPFS_SIZE = "96m"
_DEPLOYER = Path(__file__).with_name("deploy_filling.py")


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(mode=0o700)
    options = f"size={size},mode=0700"
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


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


@pytest.mark.parametrize("router", ROUTERS)
def test_a_disk_full_in_the_middle_of_a_deploy_keeps_stable_and_stops_the_new_instances(
    project_dir: Path, router: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaked: list[Leak] = []
    with tmpfs(tmp_path / "state", TMPFS_SIZE) as state:
        monkeypatch.setenv("MOAI_DEPLOY_STATE", str(state))
        try:
            _fill_in_the_middle(project_dir, router, state)
        finally:  # while the state folder is still mounted and named
            (state / "filler").unlink(missing_ok=True)
            try:
                down = reopen(project_dir)
                try:
                    operations.down(down, ENV)
                finally:
                    down.close()
            finally:
                leaked = _end_processes_under(state)
    # Unmounted (lazily), their working folder no longer has a name: the session's leak
    # check could not see them, so this test checks its own, by pid.
    assert not [leak for leak in leaked if pid_alive(leak.pid)]
    listed = "\n".join(leak.describe() for leak in leaked)
    assert leaked == [], f"left running after down:\n{listed}"


def _end_processes_under(folder: Path) -> list[Leak]:
    """Processes still running from `folder` (their cwd or argv: instances, supervisord,
    the router and its watchdog) 10 s after `down`, ended by pid: SIGTERM, up to 15 s, then
    SIGKILL."""
    found = wait_for_no_leaks(folder, 10.0)
    for leak in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(leak.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15.0
    while any(pid_alive(leak.pid) for leak in found) and time.monotonic() < deadline:
        time.sleep(0.1)
    kill([leak for leak in found if pid_alive(leak.pid)])
    return found


def _fill_in_the_middle(project_dir: Path, router: str, state: Path) -> None:
    project = reopen(project_dir)
    try:
        operations.deploy(project, ENV, "v1")
        stable = {i.name for i in project.runtime_for(ENV).list(project.service, ENV)}
        url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    finally:
        project.close()
    make_v2(project_dir)
    spec = str(project_dir / "moai-deploy.yaml")
    load = start_load_in_background(url, duration=300, concurrency=CLIENTS)
    try:
        child = subprocess.run(
            [sys.executable, str(_DEPLOYER), spec, ENV, "v2", "wait_ready", str(state)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        time.sleep(1.0)
    finally:
        load.stop()
        report = load.result(timeout=60)
    assert child.returncode == 0, child.stderr
    outcome = json.loads(child.stdout.splitlines()[-1])
    project = reopen(project_dir)
    try:
        instances = project.runtime_for(ENV).list(project.service, ENV)
    finally:
        project.close()
    new_alive = [i.name for i in instances if i.name not in stable and i.pid and pid_alive(i.pid)]
    stopped_after = outcome["returned_at"] - outcome["filled_at"]
    versions = {s.version for s in report.samples if not s.failed}
    print(
        f"\n{router}: disk full at wait_ready: {report.failed} of {report.total} failed, "
        f"served {sorted(v or '-' for v in versions)}, deploy returned {stopped_after:.1f}s "
        f"after the fault, new instances alive after it: {len(new_alive)}; "
        f"error: {outcome['error']}\nevents after the fault: {outcome['events']}"
    )
    if new_alive:
        print(child.stderr)
    assert outcome["filled_at"] and "disk is full" in outcome["error"]
    assert report.total > 100 and report.failed == 0
    assert versions == {"1.0.0"}
    assert new_alive == [] and stopped_after < 60

    (state / "filler").unlink()  # room again: the next command reconciles
    left = _left_unrecorded(project_dir)
    result = _cli(project_dir, "deploy", ENV, "--version", "v2b")
    text = result.stdout + result.stderr
    print(f"left unrecorded by the failed deployer: {left or 'nothing'}")
    print(f"next deploy: exit {result.returncode}\n{text.strip()}")
    assert result.returncode == 0, text
    # SQLite sometimes still commits into WAL pages it already has: then only what it could
    # not write is missing (or nothing). Whatever is, the next command records it, says so.
    assert ("reconciled" in text) == bool(left), text
    project = reopen(project_dir)
    try:
        statuses = {r.version: r.status for r in project.ledger.list_releases(project.service, ENV)}
    finally:
        project.close()
    assert statuses["v2"] == "failed" and statuses["v2b"] == "succeeded"


def _left_unrecorded(project_dir: Path) -> list[str]:
    """What the ledger misses after the failed deploy: its end, or its lock's release."""
    project = reopen(project_dir)
    try:
        left = [
            f"release {r.version} {r.status}"
            for r in project.ledger.in_progress(project.service, ENV)
        ]
        held = locks.current(project.ledger, project.service, ENV)
        if held is not None:
            left.append(f"lock of {held.holder} (alive: {held.holder_alive()})")
        return left
    finally:
        project.close()
