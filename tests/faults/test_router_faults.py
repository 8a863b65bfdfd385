"""Router faults under real load (8 keep-alive clients): Traefik killed, the whole router
killed (environments added and port clashes: test_isolation.py). Figures are printed (-s)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from moai_deploy.cli.main import run
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.runtime.local.daemon import pid_alive, wait_until

from ..e2e.conftest import ROUTERS
from .conftest import ENV
from .load import figures

pytestmark = pytest.mark.slow

CLIENTS = 8


def _url(project: Project, environment: str = ENV) -> str:
    return f"http://127.0.0.1:{project.loaded.spec.port_of(environment)}/"


def _state(project: Project) -> dict[str, object]:
    """The router watchdog's report (Traefik's or HAProxy's: both are supervised)."""
    process = project.proxy_for(ENV).chosen.process
    state_file = process.supervisor.state_file  # type: ignore[attr-defined]
    data: dict[str, object] = json.loads(state_file.read_text())
    return data


def _generations(project: Project) -> list[dict[str, object]]:
    gens = _state(project)["generations"]
    assert isinstance(gens, list)
    return gens


def _both_ready(project: Project) -> bool:
    return sum(bool(g["ready"]) for g in _generations(project)) == 2


def _status_exit(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.chdir(project_dir)
    monkeypatch.setattr("sys.argv", ["moai-deploy", "status", ENV])
    with pytest.raises(SystemExit) as exited:
        run()
    return exited.value.code if isinstance(exited.value.code, int) else 0


@pytest.mark.parametrize("router", ROUTERS)
def test_router_sigkill_is_served_again_at_once_without_404s_and_status_sees_a_dead_router(
    project: Project, project_dir: Path, monkeypatch: pytest.MonkeyPatch, router: str
) -> None:
    operations.deploy(project, ENV, "v1")
    assert wait_until(lambda: _both_ready(project), 30)
    serving = int(str(_generations(project)[0]["pid"]))
    load = start_load_in_background(_url(project), duration=8, concurrency=CLIENTS)
    time.sleep(2.0)
    fault_at = load.elapsed()
    os.kill(serving, signal.SIGKILL)
    report = load.result(timeout=60)
    kill = figures(report, fault_at)
    print("\n" + kill.describe(f"{router} SIGKILL"))
    assert kill.not_found_after == 0
    assert kill.served_again_after < 2.0
    # At most the requests in flight on the killed process, and a client's immediate retry
    # that met the same dying socket (9 of ~10,000 once under `stress-ng --cpu 2`).
    assert kill.failed <= 2 * CLIENTS
    assert project.proxy_for(ENV).chosen.process.restarts()  # type: ignore[attr-defined] == 1
    assert _status_exit(project_dir, monkeypatch) == 0

    # The whole router killed (watchdog and both routers): status says so, exit non-zero.
    state = _state(project)
    pids = [int(str(state["watchdog_pid"]))] + [int(str(g["pid"])) for g in _generations(project)]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), 10)
    assert _status_exit(project_dir, monkeypatch) == 1
    operations.deploy(project, ENV, "v1b")  # the next rollout command brings it back
    assert _status_exit(project_dir, monkeypatch) == 0
