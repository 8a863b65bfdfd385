"""`ship` end to end on the example service: staging -> tests against staging's URL ->
approval -> production, under load on production with 0 failed requests; a failing test
stage stops before production and rolls staging back."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.ledger.pipelines import PipelineStore
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import approvals, operations
from moai_deploy.pipeline.ship import ship
from moai_deploy.rollout.lock import acting_as

from .conftest import edit_spec, make_v2, reopen

pytestmark = pytest.mark.slow
CHECK_V2 = (
    "import os, urllib.request; "
    "body = urllib.request.urlopen(os.environ['MOAI_DEPLOY_URL'] + '/', timeout=5).read(); "
    "assert b'2.0.0' in body, body"
)


def _pipeline(project_dir: Path, staging_test: list[str]) -> None:
    yaml = YAML(typ="rt")
    spec = project_dir / "moai-deploy.yaml"
    data = yaml.load(spec)
    data["pipeline"] = {
        "stages": [
            {"environment": "staging", "tests": [{"name": "integration", "command": staging_test}]},
            {
                "environment": "production",
                "tests": [{"name": "smoke", "command": [sys.executable, "-c", CHECK_V2]}],
            },
        ]
    }
    yaml.dump(data, spec)


def _small(project_dir: Path) -> None:
    # The deploys' required gates are their own tests' business (tests/e2e/test_gated_deploy).
    yaml = YAML(typ="rt")
    spec = project_dir / "moai-deploy.yaml"
    data = yaml.load(spec)
    data.setdefault("gates", {})["required"] = {}
    data["environments"]["production"].pop("monitoring", None)  # no 5-minute watch here
    # The example's production needs 2 approvals; the v1 set-up deploy must not wait for
    # them (the test asks for its own single approval before shipping v2).
    data["environments"]["production"].pop("approvals", None)
    yaml.dump(data, spec)
    fast = {"type": "blue_green", "scale_down_delay": "0s"}
    edit_spec(project_dir, "staging", replicas=1, strategy=fast)
    edit_spec(project_dir, "production", replicas=2, strategy=fast)


def _approve_when_waiting(project_dir: Path, seen: list[Any]) -> None:
    deadline = time.monotonic() + 240
    project = reopen(project_dir)
    try:
        while time.monotonic() < deadline:
            if approvals.pending(project):
                with acting_as("ann"):
                    seen.append(approvals.approve(project, "production", "ship it"))
                return
            time.sleep(0.2)
    finally:
        project.close()


def test_ship_staging_tests_approval_production_under_load(project_dir: Path) -> None:
    _small(project_dir)
    project = reopen(project_dir)
    operations.deploy(project, "production", "v1")
    edit_spec(project_dir, "production", approvals={"required": 1})
    _pipeline(project_dir, [sys.executable, "-c", CHECK_V2])
    make_v2(project_dir)
    project = reopen(project_dir)
    url = f"http://127.0.0.1:{project.loaded.spec.port_of('production')}/"
    approved: list[Any] = []
    approver = threading.Thread(target=_approve_when_waiting, args=(project_dir, approved))
    approver.start()
    load = start_load_in_background(url, duration=240, concurrency=4)
    try:
        record = ship(project, "v2")
    finally:
        load.stop()
        report = load.result(timeout=30)
        approver.join(timeout=5)
    assert record.status == "succeeded"
    assert [(s.kind, s.environment, s.status) for s in record.stages] == [
        ("deploy", "staging", "succeeded"),
        ("test", "staging", "succeeded"),
        ("deploy", "production", "succeeded"),
        ("test", "production", "succeeded"),
    ]
    assert approved and approved[0].approvers == ["ann"]
    assert report.failed == 0, report.to_dict()
    served = {v for _, counts in report.versions_timeline() for v in counts}
    assert {"1.0.0", "2.0.0"} <= served
    production = project.ledger.live_release(project.service, "production")
    assert production is not None and production.version == "v2"
    assert PipelineStore(project.ledger).list(project.service)[0].id == record.id


def test_a_failing_test_stage_stops_before_production(project_dir: Path) -> None:
    _small(project_dir)
    _pipeline(project_dir, [sys.executable, "-c", "import sys; print('2 failed'); sys.exit(3)"])
    make_v2(project_dir)
    project = reopen(project_dir)
    with pytest.raises(ReleaseFailedError, match="test integration against staging failed"):
        ship(project, "v2")
    record = PipelineStore(project.ledger).list(project.service)[0]
    assert record.status == "failed"
    assert [(s.kind, s.status) for s in record.stages] == [
        ("deploy", "succeeded"),
        ("test", "failed"),
        ("rollback", "succeeded"),
    ]
    assert "exit 3" in record.stages[1].detail and "2 failed" in record.stages[1].detail
    assert project.ledger.list_releases(project.service, "production") == []  # never started
    assert project.runtime_for("staging").list(project.service, "staging") == []  # rolled back
