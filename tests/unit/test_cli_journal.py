"""`moai-deploy events` (the event log, plain and JSON) and the provider check that
refuses a deploy before any state is written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from moai_deploy.cli.main import run
from moai_deploy.ledger.events import EventLog
from moai_deploy.pipeline.project import Project
from moai_deploy.runtime.base import free_port

SPEC = """\
service:
  name: hello
  command: python -m app --port {port}
environments:
  demo: {}
"""


def _invoke(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["moai-deploy", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "moai-deploy.yaml").write_text(SPEC)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOAI_DEPLOY_DB", raising=False)
    return tmp_path


def test_events_lists_a_release_in_order(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = Project.open(project / "moai-deploy.yaml")
    try:
        release = opened.ledger.create_release(
            service="hello",
            environment="demo",
            version="v2",
            commit_sha=None,
            spec_hash="x",
            artifact=None,
            strategy="canary",
            deployed_by="alice",
        )
        opened.ledger.transition(release.id, "in_progress")
        EventLog(opened.ledger).append(release.id, "weights", {"weights": {"green": 25}})
    finally:
        opened.close()

    code, out, _ = _invoke(capsys, monkeypatch, "events", "demo", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [e["kind"] for e in listed] == ["transition", "transition", "weights"]
    assert listed[0]["actor"] == "alice" and listed[1]["data"]["to"] == "in_progress"

    code, out, _ = _invoke(capsys, monkeypatch, "events", "--after", str(listed[1]["id"]))
    assert code == 0 and out.count("\n") == 1 and "weights=" in out and "green=25" in out

    code, _, err = _invoke(capsys, monkeypatch, "events", "nowhere")
    assert code == 2 and "nowhere" in err


def test_a_prometheus_metric_without_a_reachable_server_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    address = f"http://127.0.0.1:{free_port()}"
    spec = SPEC.replace("  demo: {}\n", "  demo:\n") + (
        "    strategy:\n"
        "      type: canary\n"
        "      steps: [{set_weight: 50}]\n"
        "      analysis:\n"
        "        metrics:\n"
        "          - name: sr\n"
        "            success_condition: result >= 0.95\n"
        "            provider:\n"
        "              type: prometheus\n"
        f"              address: {address}\n"
        "              query: up\n"
    )
    (tmp_path / "moai-deploy.yaml").write_text(spec)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOAI_DEPLOY_STATE", raising=False)
    code, _, err = _invoke(capsys, monkeypatch, "deploy", "demo", "--version", "v1")
    assert code == 2, err
    flat = "".join(err.split())  # the console wraps long lines
    assert "moai-deploy.yaml:15:" in flat
    assert "environments.demo.strategy.analysis.metrics[0].provider.address" in flat
    assert "notreachable" in flat and "fix:" in flat
    assert list(tmp_path.iterdir()) == [tmp_path / "moai-deploy.yaml"]  # no state at all
