"""Canaries judged for real, on one scratch project whose stable version (v1) is deployed
once for the whole module: every aborted canary leaves it live for the next test.

- the router's health check marks a canary down: no router 503, the release is aborted;
- a provider that raises, a Prometheus that never answers, a judge that raises and a judge
  with no samples: each ends the release aborted with traffic on stable;
- the Mann-Whitney judge aborts a canary with 30 % errors and promotes a healthy one;
- an inconclusive analysis through the real CLI with plain output: the pause, its reason and
  the command that continues appear within an interval; `status` and `promote` say so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from moai_deploy.analysis import registry
from moai_deploy.analysis.base import Measurement, MeasureTarget
from moai_deploy.analysis.haproxy import RequestLog
from moai_deploy.analysis.traefik.access_log import AccessLogSamples
from moai_deploy.cli.demo import find_example, prepare_workspace
from moai_deploy.errors import ReleaseFailedError
from moai_deploy.ledger.analysis_log import AnalysisLog
from moai_deploy.observe.load import LoadReport, start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.spec.analysis import MetricSpec

from .conftest import ENV, Recorder, edit_spec, make_v2, reopen

pytestmark = pytest.mark.slow

# Passes whatever the traffic (0 req/s included): the judge alone decides.
TRAFFIC = {
    "name": "traffic",
    "provider": {"type": "traefik", "measure": "request_rate"},
    "success_condition": "result >= 0",
    "interval": "1s",
    "count": 3,
}
BACKGROUND_SR = {"template": "success-rate", "interval": "1s"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """v1 live, v2's code committed; everything stopped after the module."""
    directory = prepare_workspace(find_example(None), tmp_path_factory.mktemp("judged"))
    project = reopen(directory)
    try:
        operations.deploy(project, ENV, "v1")
        make_v2(directory)
        yield directory
    finally:
        try:
            operations.down(project, ENV)
        finally:
            project.close()


def _url(project_dir: Path) -> str:
    project = reopen(project_dir)
    try:
        return f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    finally:
        project.close()


def _deploy(
    project_dir: Path, version: str, recorder: Recorder, load: bool = True
) -> tuple[Any, LoadReport | None]:
    handle = (
        start_load_in_background(_url(project_dir), duration=90, concurrency=8) if load else None
    )
    project = reopen(project_dir)
    result: Any
    try:
        result = operations.deploy(project, ENV, version, recorder)
    except ReleaseFailedError as exc:
        result = exc
    finally:
        project.close()
        report = None
        if handle is not None:
            handle.stop()
            report = handle.result(timeout=30)
    return result, report


def _assert_ended_on_stable(project_dir: Path, version: str) -> Any:
    """The release is terminal (aborted), traffic is all on stable, only stable runs."""
    project = reopen(project_dir)
    try:
        release = project.ledger.find_release(project.service, ENV, version)
        assert release is not None and release.status == "aborted", release
        assert project.ledger.in_progress(project.service, ENV) == []
        routing = project.router_for(ENV).current(project.route(ENV))
        live = project.ledger.live_release(project.service, ENV)
        assert routing is not None and live is not None
        assert [(b.name, b.weight) for b in routing.backends if b.weight] == [
            (f"hello-{ENV}-{live.meta['group']}", 100)
        ]
        versions = {i.version for i in project.runtime_for(ENV).list(project.service, ENV)}
        assert versions == {live.version}
        return release
    finally:
        project.close()


def test_a_canary_marked_down_by_the_health_check_gets_no_router_503(workspace: Path) -> None:
    canary = {"type": "canary", "steps": [{"set_weight": 50}, {"pause": {"duration": "60s"}}]}
    edit_spec(workspace, ENV, strategy=canary, env={"HELLO_UNREADY_AFTER": "5"})
    recorder = Recorder()

    result, report = _deploy(workspace, "unready", recorder)

    assert isinstance(result, ReleaseFailedError) and "health check" in str(result)
    assert report is not None
    router_503 = sum(1 for s in report.samples if s.status == 503)
    assert router_503 == 0, report.to_dict()
    assert report.failed == 0, report.to_dict()  # the canary's / still served: no error at all
    release = _assert_ended_on_stable(workspace, "unready")
    assert "router-health" in (release.message or "")


class _Raising:
    """A provider with a bug (a stand-in: no real provider raises on demand)."""

    def begin(self, target: MeasureTarget) -> None:
        pass

    def measure(self, metric: MetricSpec, target: MeasureTarget, window: float) -> Measurement:
        raise RuntimeError("provider bug: boom")


def test_a_provider_that_raises_ends_the_release_on_stable(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        registry.PROVIDERS,
        "router",  # the templates' provider: the router's own figures
        registry.ProviderEntry(lambda _s: _Raising(), lambda _p: None),
    )
    canary = {
        "type": "canary",
        "steps": [{"set_weight": 20}, {"pause": {"duration": "60s"}}],
        "analysis": {"metrics": [{**BACKGROUND_SR, "consecutive_error_limit": 1}]},
    }
    edit_spec(workspace, ENV, strategy=canary, env={})

    result, _ = _deploy(workspace, "raises", Recorder(), load=False)

    assert isinstance(result, ReleaseFailedError) and "provider bug: boom" in str(result)
    release = _assert_ended_on_stable(workspace, "raises")
    project = reopen(workspace)
    try:
        measured = AnalysisLog(project.ledger).measurements(release.id)
    finally:
        project.close()
    assert [m.phase for m in measured] == ["error", "error"]  # on record, not only printed


class _Hanging(BaseHTTPRequestHandler):
    """A Prometheus that is up (/-/ready) but never answers a query in time."""

    def do_GET(self) -> None:
        if not self.path.startswith("/-/ready"):
            time.sleep(5)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_prometheus_that_times_out_ends_the_release_on_stable(workspace: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hanging)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    metric = {
        "name": "promql",
        "interval": "1s",
        "success_condition": "result >= 0.95",
        "consecutive_error_limit": 0,
        "provider": {
            "type": "prometheus",
            "address": f"http://127.0.0.1:{server.server_address[1]}",
            "query": "vector(1)",
            "timeout": 0.5,
        },
    }
    canary = {"type": "canary", "steps": [{"set_weight": 20}, {"analysis": {"metrics": [metric]}}]}
    edit_spec(workspace, ENV, strategy=canary, env={})
    try:
        result, _ = _deploy(workspace, "hangs", Recorder(), load=False)
    finally:
        server.shutdown()
        server.server_close()

    assert isinstance(result, ReleaseFailedError) and "timed out" in str(result).lower()
    _assert_ended_on_stable(workspace, "hangs")


def test_a_judge_that_raises_or_gets_no_samples_ends_the_release_on_stable(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    judge = {"metrics": ["errors"], "consecutive_error_limit": 1}
    canary = {
        "type": "canary",
        "steps": [{"set_weight": 50}, {"analysis": {"metrics": [TRAFFIC], "judge": judge}}],
    }
    edit_spec(workspace, ENV, strategy=canary, env={})

    def unreadable(self: object, backend: str, since: float, until: float) -> Any:
        raise OSError("access log unreadable")

    with monkeypatch.context() as patched:  # the judge's samples, from either router's log
        patched.setattr(AccessLogSamples, "samples", unreadable)
        patched.setattr(RequestLog, "samples", unreadable)
        result, _ = _deploy(workspace, "judge-raises", Recorder(), load=False)
    assert isinstance(result, ReleaseFailedError) and "access log unreadable" in str(result)
    _assert_ended_on_stable(workspace, "judge-raises")

    no_data = {"metrics": ["errors"], "on_no_data": "fail"}  # no load: no samples at all
    canary["steps"][1] = {"analysis": {"metrics": [TRAFFIC], "judge": no_data}}  # type: ignore[index]
    edit_spec(workspace, ENV, strategy=canary, env={})
    result, _ = _deploy(workspace, "judge-empty", Recorder(), load=False)
    assert isinstance(result, ReleaseFailedError) and "judge: nodata" in str(result)
    _assert_ended_on_stable(workspace, "judge-empty")


def _judged_canary(tolerance: float) -> dict[str, Any]:
    judge = {"metrics": ["errors", "latency"], "min_samples": 20, "tolerance": tolerance}
    return {
        "type": "canary",
        "steps": [{"set_weight": 50}, {"analysis": {"metrics": [TRAFFIC], "judge": judge}}],
    }


def test_mann_whitney_aborts_a_canary_with_30_percent_errors_under_load(workspace: Path) -> None:
    edit_spec(workspace, ENV, strategy=_judged_canary(0.5), env={"HELLO_ERROR_RATE": "0.3"})
    recorder = Recorder()

    result, report = _deploy(workspace, "mw-bad", recorder)

    assert isinstance(result, ReleaseFailedError) and "errors high" in str(result)
    assert report is not None and report.failed > 0  # the clients did see the canary's 500s
    _assert_ended_on_stable(workspace, "mw-bad")
    [judged] = [f for _, f in recorder.named("measurement") if f["metric"] == "judge"]
    assert judged["phase"] == "failed" and judged["value"] < 75


def test_mann_whitney_promotes_a_healthy_canary_under_load(workspace: Path) -> None:
    edit_spec(workspace, ENV, strategy=_judged_canary(0.5), env={})
    recorder = Recorder()

    result, report = _deploy(workspace, "mw-good", recorder)

    assert not isinstance(result, Exception), result
    assert result.status == "succeeded"
    assert report is not None and report.failed == 0
    [judged] = [f for _, f in recorder.named("measurement") if f["metric"] == "judge"]
    assert judged["phase"] == "successful" and "judge: pass" in judged["message"]


def _cli(project_dir: Path, *args: str) -> list[str]:
    return [
        str(Path(sys.executable).parent / "moai-deploy"),
        *args,
        "--spec",
        str(project_dir / "moai-deploy.yaml"),
    ]


def test_an_inconclusive_canary_shows_its_pause_and_how_to_continue(workspace: Path) -> None:
    metric = {**BACKGROUND_SR, "count": 2}
    canary = {"type": "canary", "steps": [{"set_weight": 50}, {"analysis": {"metrics": [metric]}}]}
    edit_spec(workspace, ENV, strategy=canary, env={})
    env = {**os.environ, "COLUMNS": "200"}
    deploy = subprocess.Popen(  # plain output: a pipe, not a terminal; no load: no data
        _cli(workspace, "deploy", ENV, "--version", "v-inconclusive"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[tuple[float, str]] = []
    try:
        assert deploy.stdout is not None
        for line in deploy.stdout:
            lines.append((time.monotonic(), line.rstrip()))
            if "continue:" in line:
                break
        analysis_at = next(at for at, text in lines if "analysis" in text and "…" in text)
        paused_at, paused = next((at, t) for at, t in lines if "paused:" in t)
        assert "success-rate inconclusive" in paused and "no data" in paused
        assert lines[-1][1].strip() == f"continue: moai-deploy promote {ENV}"
        assert paused_at - analysis_at <= 1.0 + 3.0  # one interval, plus the machine's load

        status = subprocess.run(
            _cli(workspace, "status", ENV),
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert "paused: analysis inconclusive" in status.stdout, status.stdout
        assert f"continue: moai-deploy promote {ENV}" in status.stdout
        promoted = subprocess.run(
            _cli(workspace, "promote", ENV),
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert promoted.returncode == 0, promoted.stdout + promoted.stderr
        assert "promote: skips step" in promoted.stdout and "(analysis" in promoted.stdout
        rest, _ = deploy.communicate(timeout=120)
    finally:
        if deploy.poll() is None:
            deploy.kill()
            deploy.wait()
    assert deploy.returncode == 0, "\n".join(t for _, t in lines) + rest
    assert "is live" in rest
    assert httpx.get(_url(workspace), timeout=5).json()["release"] == "v-inconclusive"
