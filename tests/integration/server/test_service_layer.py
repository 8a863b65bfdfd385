"""The service layer (`moai_deploy.service.ControlService`) that the CLI and the server
share: what a command gets from it, what the API sends, and that it needs no web server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from moai_deploy.errors import BadInputError, LockedError, NotFoundError
from moai_deploy.rollout.lock import acting_as
from moai_deploy.service import ControlService, GateOptions
from moai_deploy.service.logs import LogQuery

from .conftest import bearer


def test_the_service_loads_no_web_framework() -> None:
    probe = (
        "import sys, moai_deploy.service; "
        "print([m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette', "
        "'uvicorn', 'httpx') or m.startswith('moai_deploy.server')])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_a_command_has_one_project_and_the_server_one_per_write(spec_path: Path) -> None:
    with ControlService.for_command(spec_path) as command, command.writing() as project:
        assert project is command.project()
    server = ControlService(spec_path)
    try:
        with server.writing() as project:
            assert project is not server.project()
    finally:
        server.close()


def test_what_a_command_gets_is_what_the_api_sends(
    service: ControlService, client: TestClient, tokens: dict[str, str]
) -> None:
    with acting_as("ops"):
        held = service.lock_acquire("staging", "backup")
    assert held == {"environment": "staging", "holder": "ops", "message": "backup"}
    with ControlService.for_command(service.spec_path) as command:
        locks, audit = command.locks(), command.audit("staging", 10)
        tokens_seen = command.tokens()
    headers = bearer(tokens["viewer"])
    assert client.get("/api/v1/locks", headers=headers).json() == json.loads(json.dumps(locks))
    assert "is locked by ops" in locks[0]["summary"] and "backup" in locks[0]["summary"]
    assert client.get("/api/v1/audit?environment=staging", headers=headers).json() == audit
    admin = bearer(tokens["admin"])
    assert client.get("/api/v1/tokens", headers=admin).json() == tokens_seen
    with pytest.raises(LockedError, match="backup"):
        service.lock_acquire("staging", "another")


def test_lock_release_and_break_are_audited(service: ControlService) -> None:
    with pytest.raises(BadInputError, match="no manual lock held"):
        service.lock_release("staging", None)
    with pytest.raises(BadInputError, match="needs a reason"):
        service.lock_release("staging", " ")
    with acting_as("ops"):
        service.lock_acquire("staging", "backup")
        assert service.lock_release("staging", None)["released"] is True
        service.lock_acquire("staging", "stuck")
    with acting_as("lead"):
        broke = service.lock_release("staging", "ops went home")
    assert broke["released"] is True and "ops" in broke["broke"]
    assert service.locks() == []
    audit = service.audit("staging", 10)
    actions = [(e["actor"], e["action"], e["detail"].get("reason")) for e in audit]
    assert actions[:4] == [
        ("lead", "lock_break", "ops went home"),
        ("ops", "lock_acquire", None),
        ("ops", "lock_release", None),
        ("ops", "lock_acquire", None),
    ]


def test_logs_pick_the_release_instance_lines_and_age(service: ControlService) -> None:
    logs_root = service.project().layout.logs / "staging"
    for release, text in ((3, "old\n"), (4, "a1\na2\na3\n")):
        (logs_root / f"release-{release}").mkdir(parents=True)
        (logs_root / f"release-{release}" / "web-blue.log").write_text(text)
    (logs_root / "release-4" / "web-green.log").write_text("g1\n")

    def lines(query: LogQuery) -> list[str]:
        return [
            f"{i['instance']}#{i['release']}:{i['line']}" for i in service.logs("staging", query)
        ]

    newest = ["web-blue#4:a1", "web-blue#4:a2", "web-blue#4:a3", "web-green#4:g1"]
    assert lines(LogQuery()) == newest  # nothing live: the newest release with logs
    assert lines(LogQuery(release=4, lines=2)) == [
        "web-blue#4:a2",
        "web-blue#4:a3",
        "web-green#4:g1",
    ]
    assert lines(LogQuery(release=4, instance="web-green")) == ["web-green#4:g1"]
    assert lines(LogQuery(release=3)) == ["web-blue#3:old"]
    assert lines(LogQuery(release=4, since=time.time() + 3600)) == []
    with pytest.raises(BadInputError, match="has no instance logs"):
        service.logs("staging", LogQuery(release=9))
    with pytest.raises(NotFoundError, match="unknown environment 'moon'"):
        service.logs("moon", LogQuery())
    with pytest.raises(NotFoundError, match="unknown environment 'moon'"):
        service.events("moon", None, 0, 10)


def test_gates_run_through_the_service_are_reported_and_recorded(
    service: ControlService, client: TestClient, tokens: dict[str, str]
) -> None:
    from moai_deploy.ledger.gate_store import GateStore

    here = service.gates("staging", GateOptions(advisory=True))
    there = client.post(
        "/api/v1/gates", json={"environment": "staging"}, headers=bearer(tokens["deployer"])
    ).json()
    assert here["passed"] is True and there["passed"] is True  # every gate here is disabled
    assert isinstance(here["run_id"], int) and there["run_id"] == here["run_id"] + 1
    assert (Path(here["reports"]) / "gates.json").is_file()
    runs = GateStore(service.project().ledger).list_runs(service.service_name())
    assert sorted(r.run_id for r in runs) == [here["run_id"], there["run_id"]]
