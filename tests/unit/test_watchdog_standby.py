"""The watchdog's standby waits until retired routers are gone (their listeners closed at
moments it cannot see would otherwise let a warming standby take the serving slot)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moai_deploy.traffic.supervise.program import Generation, RouterProgram
from moai_deploy.traffic.supervise.watchdog import Watchdog


def test_no_standby_is_spawned_while_a_retired_router_remains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = RouterProgram(
        argv=("/bin/true",), env={}, listen=(), ready={"kind": "http"}, fingerprint="new"
    )
    config = tmp_path / "supervise.json"
    config.write_text(json.dumps(program.to_json()))
    dog = Watchdog(config)
    spawned: list[int] = []
    monkeypatch.setattr(dog, "_spawn", lambda: spawned.append(1))
    retired = Generation(101, {}, 0.0, ready=True, fingerprint="old", exit_status=-15)
    serving = Generation(102, {}, 0.0, ready=True, fingerprint="new")

    dog.report.generations = [retired, serving]
    assert dog._spawn_if_needed() and spawned == []
    dog.report.generations = [serving]  # the retired one exited
    assert dog._spawn_if_needed() and spawned == [1]
    dog.report.generations = [retired]  # nothing of the new program yet: start one at once
    assert dog._spawn_if_needed() and spawned == [1, 1]
