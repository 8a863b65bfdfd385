"""Canary and rolling releases on real processes behind each real router, under real load."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from moai_deploy.ledger.events import EventLog
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import control, operations
from moai_deploy.pipeline.project import Project

from .conftest import ENV, ROUTERS, ROUTERS_AND_DOCKER, Recorder, edit_spec, make_v2, reopen

pytestmark = pytest.mark.slow


def _url(project: Project) -> str:
    return f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"


@pytest.mark.parametrize("router", ROUTERS)
def test_healthy_canary_walks_every_step_under_load_without_a_failed_request(
    project_dir: Path,
) -> None:
    project = reopen(project_dir)
    operations.deploy(project, ENV, "v1")
    canary = {
        "type": "canary",
        "steps": [
            {"set_weight": 25},
            {"pause": {"duration": "1s"}},
            {"set_weight": 50},
            {"pause": {"duration": "1s"}},
        ],
    }
    edit_spec(project_dir, ENV, strategy=canary)
    make_v2(project_dir)
    project = reopen(project_dir)
    recorder = Recorder()
    load = start_load_in_background(_url(project), duration=60, concurrency=8)
    try:
        release = operations.deploy(project, ENV, "v2", recorder)
    finally:
        load.stop()
        report = load.result(timeout=30)

    assert release.status == "succeeded"
    blue, green = "hello-demo-blue", "hello-demo-green"
    assert recorder.weights()[:3] == [
        {blue: 75, green: 25},
        {blue: 50, green: 50},
        {blue: 0, green: 100},
    ]
    assert recorder.weights()[-1] == {green: 100}  # old version retired
    assert report.failed == 0, report.to_dict()
    served = {v for _, counts in report.versions_timeline() for v in counts}
    assert {"1.0.0", "2.0.0"} <= served
    assert httpx.get(_url(project), timeout=5).json()["version"] == "2.0.0"
    _assert_events_in_order(project, release.id)


def _assert_events_in_order(project: Project, release_id: int) -> None:
    """The whole release, in order, from the ledger's event log (what the live view reads)."""
    events = EventLog(project.ledger).since(0, release=release_id)
    assert [e.id for e in events] == sorted({e.id for e in events})
    kinds = [e.kind for e in events]
    transitions = [e.data["to"] for e in events if e.kind == "transition"]
    assert transitions == ["pending", "in_progress", "succeeded"]
    steps = [e.data["step"] for e in events if e.kind == "step_finished"]
    assert steps[:4] == ["build", "start", "wait_ready", "smoke"] and steps[-1] == "scale_down"
    weights = [e.data["weights"].get("hello-demo-green") for e in events if e.kind == "weights"]
    assert weights == [25, 50, 100, 100]
    assert kinds.index("transition", 2) < len(kinds) - 1  # succeeded, then the scale-down
    assert all(e.environment == ENV and e.service == "hello" for e in events)


@pytest.mark.parametrize(("router", "runtime"), ROUTERS_AND_DOCKER)
def test_rolling_update_replaces_instances_in_batches_with_zero_failures(project_dir: Path) -> None:
    project = reopen(project_dir)
    edit_spec(project_dir, ENV, replicas=3)
    project = reopen(project_dir)
    operations.deploy(project, ENV, "v1")
    rolling = {"type": "rolling", "max_surge": 2, "max_unavailable": 0, "pre_stop_delay": "0.5s"}
    edit_spec(project_dir, ENV, strategy=rolling)
    make_v2(project_dir)
    project = reopen(project_dir)
    load = start_load_in_background(_url(project), duration=60, concurrency=8)
    try:
        release = operations.deploy(project, ENV, "v2")
    finally:
        load.stop()
        report = load.result(timeout=30)

    assert release.status == "succeeded"
    batches = [s for s in project.ledger.steps(release.id) if s.kind == "rolling_batch"]
    assert len(batches) == 2 and all(s.outcome == "succeeded" for s in batches)
    instances = project.runtime_for(ENV).list(project.service, ENV)
    assert sorted(i.version for i in instances) == ["v2", "v2", "v2"]
    assert report.failed == 0, report.to_dict()


def test_indefinite_pause_waits_for_promote(project_dir: Path) -> None:
    project = reopen(project_dir)
    operations.deploy(project, ENV, "v1")
    canary = {"type": "canary", "steps": [{"set_weight": 50}, {"pause": {}}]}
    edit_spec(project_dir, ENV, strategy=canary)
    make_v2(project_dir)
    outcome: dict[str, Any] = {}

    def deploy() -> None:
        own = reopen(project_dir)
        try:
            outcome["release"] = operations.deploy(own, ENV, "v2")
        finally:
            own.close()

    worker = threading.Thread(target=deploy)
    worker.start()
    watcher = reopen(project_dir)
    deadline = time.monotonic() + 60
    while not _paused_at_pause(watcher):
        assert time.monotonic() < deadline and worker.is_alive(), "never reached the pause"
        time.sleep(0.2)
    time.sleep(1.0)
    assert worker.is_alive()  # still waiting: an indefinite pause does not time out
    assert watcher.ledger.in_progress(watcher.service, ENV)[0].meta["rollout"]["weight"] == 50

    control.promote(watcher, ENV)
    worker.join(timeout=60)
    assert outcome["release"].status == "succeeded"
    actions = [a.action for a in watcher.ledger.list_audit(watcher.service, ENV)]
    assert "promote" in actions


def _paused_at_pause(project: Project) -> bool:
    unfinished = project.ledger.in_progress(project.service, ENV)
    if not unfinished:
        return False
    steps = project.ledger.steps(unfinished[0].id)
    return bool(steps) and steps[-1].kind == "pause" and steps[-1].outcome == "running"
