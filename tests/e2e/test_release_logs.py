"""What each release leaves behind, on the local runtime (real Traefik, supervisord, uvicorn):
its own instance logs (the `logs` command: --release, --follow within 1 s), moai-deploy's
action log, and its SBOM (CycloneDX from the real release environment), with `sbom diff`
between two releases that differ by exactly one dependency."""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from moai_deploy.cli.main import app
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.action_log import action_log_path
from moai_deploy.runtime.base import Artifact
from moai_deploy.runtime.local.logs import release_logs, tail
from moai_deploy.sbom.artifact import sbom_of_artifact
from moai_deploy.sbom.cyclonedx import packages
from moai_deploy.sbom.store import sbom_path

from .conftest import ENV, edit_spec, make_v2, reopen

pytestmark = pytest.mark.slow
EXTRA = "six==1.17.0"  # no dependencies of its own: adding it adds exactly one package
SECRET = "tok-7f3a9c21e5"  # pragma: allowlist secret - a test value


def _add_dependency(project_dir: Path, requirement: str) -> None:
    pyproject = project_dir / "pyproject.toml"
    anchor = '"prometheus-client>=0.20",'
    pyproject.write_text(pyproject.read_text().replace(anchor, f'{anchor}\n    "{requirement}",'))
    assert requirement in pyproject.read_text()
    subprocess.run(["git", "commit", "-qam", f"add {requirement}"], cwd=project_dir, check=True)


def _check_sboms(project_dir: Path, root: Path, first: int, second: int, third: int) -> None:
    for release in (first, second):
        path = sbom_path(root, release)
        bom = json.loads(path.read_text())
        assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
        assert {"fastapi", "uvicorn", "prometheus-client"} <= set(packages(bom))
        assert bom["metadata"]["component"]["name"] == "hello-service"
        assert path.stat().st_mode & 0o077 == 0  # owner only
    spec = str(project_dir / "moai-deploy.yaml")
    runner = CliRunner()
    done = runner.invoke(app, ["sbom", "diff", str(first), str(second), "-f", spec])
    assert done.exit_code == 1, done.output  # differences found
    assert done.output.splitlines() == ["+ six 1.17.0"]
    data = json.loads(runner.invoke(app, ["sbom", "diff", "v1", "v2", "--json", "-f", spec]).output)
    assert data["added"] == {"six": "1.17.0"} and data["removed"] == data["changed"] == {}
    same = runner.invoke(app, ["sbom", "diff", str(first), f"#{third}", "-f", spec])
    assert same.exit_code == 0 and "same packages" in same.output  # the rollback runs v1's env
    missing = subprocess.run(
        _cli(project_dir, "sbom", "diff", "v1", "v9"), capture_output=True, text=True, check=False
    )
    assert missing.returncode == 2 and "no release of version 'v9'" in missing.stderr


def _check_opaque_artifact_sbom(project: Any, project_dir: Path, release_id: int) -> None:
    # The image path, through the runtime protocol only: an artifact without a local
    # interpreter is listed by a one-off command run in it (here the local driver's).
    recorded = Artifact.from_meta(project.ledger.get_release(release_id).meta["artifact"])
    assert recorded is not None
    opaque = dataclasses.replace(recorded, facts={})
    listed = sbom_of_artifact(
        project.driver("local"), opaque, project.service, ENV, project_dir / "cache"
    )
    stored = json.loads(sbom_path(project.layout.root, release_id).read_text())
    assert packages(listed) == packages(stored)


def _hit(port: int, marker: str) -> None:
    # Several requests: with 2 instances behind Traefik each gets at least one.
    for _ in range(4):
        httpx.get(f"http://127.0.0.1:{port}/?marker={marker}", timeout=5).raise_for_status()


def _release_text(logs_root: Path, release: int) -> str:
    files = release_logs(logs_root, ENV, release)
    assert files, f"release #{release} has no log files"
    return "\n".join(line for log in files for line in tail(log, 10_000))


def _cli(project_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "moai_deploy", *args, "-f", str(project_dir / "moai-deploy.yaml")]


def _follow_latency(project_dir: Path, port: int, marker: str) -> float:
    """Seconds from a request to its access-log line on `logs --follow`'s output."""
    proc = subprocess.Popen(
        _cli(project_dir, "logs", ENV, "--follow", "--lines", "1"),
        stdout=subprocess.PIPE,
        stderr=(project_dir / "follow.err").open("w"),
        text=True,
    )
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put((time.monotonic(), line))

    threading.Thread(target=read, daemon=True).start()
    try:
        lines.get(timeout=60)  # its first tail line: the follower is up
        time.sleep(0.5)
        while not lines.empty():
            lines.get_nowait()
        sent = time.monotonic()
        httpx.get(f"http://127.0.0.1:{port}/?marker={marker}", timeout=5).raise_for_status()
        deadline = sent + 10
        while time.monotonic() < deadline:
            try:
                at, line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if marker in line:
                return at - sent
        errors = (project_dir / "follow.err").read_text()
        raise AssertionError(f"{marker} never appeared on logs --follow: {errors}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_each_release_logs_apart_logs_command_and_action_log(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_TOKEN", SECRET)
    edit_spec(project_dir, ENV, env={"API_TOKEN": "${secret:API_TOKEN}"})
    project = reopen(project_dir)
    port = project.loaded.spec.port_of(ENV)
    try:
        first = operations.deploy(project, ENV, "v1")
        _hit(port, "first-release")
        make_v2(project_dir)
        _add_dependency(project_dir, EXTRA)
        second = operations.deploy(project, ENV, "v2")
        _hit(port, "second-release")
        third = operations.rollback(project, ENV)  # v1 again, on the first release's names
        _hit(port, "third-release")
        logs_root = project.layout.logs
        names = {
            release: {f.instance for f in release_logs(logs_root, ENV, release)}
            for release in (first.id, third.id)
        }
        assert names[first.id] == names[third.id]  # same instance names, separate files
        texts = {r.id: _release_text(logs_root, r.id) for r in (first, second, third)}
        assert "first-release" in texts[first.id]
        assert "second-release" not in texts[first.id] and "third-release" not in texts[first.id]
        assert "third-release" in texts[third.id] and "first-release" not in texts[third.id]
        assert "second-release" in texts[second.id] and "first-release" not in texts[second.id]

        spec = str(project_dir / "moai-deploy.yaml")
        shown = CliRunner().invoke(app, ["logs", ENV, "--release", str(first.id), "-f", spec])
        assert shown.exit_code == 0, shown.output
        shown_text = shown.output
        assert "first-release" in shown_text and "third-release" not in shown_text
        live = CliRunner().invoke(app, ["logs", ENV, "--since", "1h", "-f", spec]).output
        assert "third-release" in live and "first-release" not in live  # the live release

        latencies = sorted(_follow_latency(project_dir, port, f"follow-{i}") for i in range(3))
        print(f"logs --follow latency: {[round(x, 3) for x in latencies]} s")
        assert latencies[1] < 1.0  # the median of three

        actions = action_log_path(logs_root).read_text()
        _check_opaque_artifact_sbom(project, project_dir, second.id)
        _check_sboms(project_dir, project.layout.root, first.id, second.id, third.id)
    finally:
        project.close()

    assert SECRET not in actions
    entries = [json.loads(line) for line in actions.splitlines()]
    steps = [e for e in entries if e["event"] == "step_finished"]
    assert {e["release"] for e in steps} == {first.id, second.id, third.id}
    assert all(e["actor"] and e["environment"] == ENV and e["step"] for e in steps)
    audits = [e for e in entries if e["event"] == "audit"]
    assert [a["action"] for a in audits] == ["deploy", "deploy", "rollback"]
    assert os.stat(action_log_path(logs_root)).st_mode & 0o077 == 0
