"""A release that ended while the ledger could not be written is reconciled by the next
command: marked failed, the dead deployer's lock released, and it says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from moai_deploy.errors import MoaiError
from moai_deploy.ledger import locks
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.pipeline.reconcile import mark_unrecorded, reconcile
from moai_deploy.rollout.reporter import RecordingReporter

SPEC = "service: {name: hello, command: python -m app}\nenvironments: {production: {}}\n"
_DEAD_DEPLOYER = """
import sys
from moai_deploy.ledger.locks import LockRequest, try_acquire
from moai_deploy.ledger.store import Ledger
ledger = Ledger.open(sys.argv[1])
assert try_acquire(ledger, "hello", "production", LockRequest("ci", "deploy", "v2"))
"""  # exits holding the lock, as a deployer does whose ledger became unwritable


def test_the_next_command_records_the_failure_and_releases_the_dead_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOAI_DEPLOY_STATE", raising=False)
    (tmp_path / "moai-deploy.yaml").write_text(SPEC)
    project = Project.open(tmp_path / "moai-deploy.yaml")
    try:
        release = project.ledger.create_release(
            service="hello",
            environment="production",
            version="v2",
            commit_sha=None,
            spec_hash="x",
            artifact=None,
            strategy="blue_green",
            deployed_by="ci",
        )
        project.ledger.transition(release.id, "in_progress")
        url = f"sqlite:///{project.layout.ledger_db}"
        subprocess.run([sys.executable, "-c", _DEAD_DEPLOYER, url], check=True)
        mark_unrecorded(project, "production", release.id, MoaiError("disk full"))
        recorder = RecordingReporter()
        reconcile(project, "production", recorder)  # what the next deploy does first
        request = locks.LockRequest("bob", "down")
        with operations.locked(project, "production", request, operations.DeployOptions()):
            held = locks.current(project.ledger, "hello", "production")
            assert held is not None and held.holder == "bob"
        assert project.ledger.get_release(release.id).status == "failed"
        assert "reconciled" in (project.ledger.get_release(release.id).message or "")
        [(_, event)] = recorder.named("reconciled")
        assert f"release #{release.id} marked failed" in event["message"]
        assert list(project.layout.locks.glob("unrecorded-*")) == []
    finally:
        project.close()


def test_a_lock_left_by_a_deployer_whose_ledger_filled_is_released_by_the_next_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOAI_DEPLOY_STATE", raising=False)
    (tmp_path / "moai-deploy.yaml").write_text(SPEC)
    project = Project.open(tmp_path / "moai-deploy.yaml")
    try:
        url = f"sqlite:///{project.layout.ledger_db}"
        project.ledger  # noqa: B018 - creates the ledger the dead deployer writes to
        subprocess.run([sys.executable, "-c", _DEAD_DEPLOYER, url], check=True)
        # Its release was recorded; only the lock's release could not be written.
        mark_unrecorded(project, "production", None, MoaiError("disk full"))
        recorder = RecordingReporter()
        assert reconcile(project, "production", recorder) == []
        assert locks.current(project.ledger, "hello", "production") is None
        [(_, event)] = recorder.named("reconciled")
        assert "nothing unfinished, the dead deployer's lock released" in event["message"]
        assert list(project.layout.locks.glob("unrecorded-*")) == []
    finally:
        project.close()
