"""Canaries judged by PromQL: a real Prometheus (Debian's package) scrapes the service's own
`/metrics` on every instance, and the release's analysis queries it.

The instances' ports change with every release, so the test keeps a file_sd target file
current from the runtime's instance list, each target labelled with its router backend
(`backend="hello-demo-green"`), which is what `{{canary}}` in a query names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from moai_deploy.cli.demo import find_example, prepare_workspace
from moai_deploy.errors import ReleaseFailedError, SpecError
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.runtime.base import free_port

from .conftest import ENV, Recorder, edit_spec, make_v2, reopen

pytestmark = pytest.mark.slow

SUCCESS_RATE = (
    'sum(rate(http_requests_total{backend="{{canary}}",endpoint="/",status!~"5.."}[{{window}}]))'
    ' / sum(rate(http_requests_total{backend="{{canary}}",endpoint="/"}[{{window}}]))'
)


def _binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        message = "no prometheus binary: `apt-get install prometheus` (Debian package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


class _Targets:
    """Writes the instances of the demo environment as Prometheus file_sd targets."""

    def __init__(self, project_dir: Path, path: Path) -> None:
        self._dir, self._path = project_dir, path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.write()

    def write(self) -> None:
        project = reopen(self._dir)
        try:
            running = [
                i
                for i in project.runtime_for(ENV).list(project.service, ENV)
                if i.state.alive  # STARTING too: supervisord's first second
            ]
        finally:
            project.close()
        groups = [
            {
                "targets": [i.url.removeprefix("http://")],
                "labels": {"backend": f"hello-{ENV}-{i.group}"},
            }
            for i in running
        ]
        text = json.dumps(groups)
        if not self._path.exists() or self._path.read_text() != text:
            tmp = self._path.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.replace(self._path)

    def _loop(self) -> None:
        while not self._stop.wait(0.3):
            try:
                self.write()
            except SpecError:  # the spec being rewritten by the test: read it next time
                continue

    def __enter__(self) -> _Targets:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """v1 live, v2's code committed, Prometheus scraping every instance each second."""
    binary = _binary()
    root = tmp_path_factory.mktemp("promql")
    directory = prepare_workspace(find_example(None), root)
    project = reopen(directory)
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        operations.deploy(project, ENV, "v1")
        make_v2(directory)
        with _Targets(directory, root / "targets.json"):
            prometheus, url = _start(binary, root)
            _wait_scraping(url, prometheus, root / "prometheus.log")
            yield directory, url
    finally:
        if prometheus is not None:
            prometheus.terminate()
            try:
                prometheus.wait(timeout=15)
            except subprocess.TimeoutExpired:
                prometheus.kill()
                prometheus.wait()
        try:
            operations.down(project, ENV)
        finally:
            project.close()


def _start(binary: str, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "hello",
                "metrics_path": "/metrics",
                "file_sd_configs": [{"files": [str(root / "targets.json")]}],
            }
        ],
    }
    (root / "prometheus.yml").write_text(json.dumps(config))
    port = free_port()
    argv = [
        binary,
        f"--config.file={root / 'prometheus.yml'}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with (root / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


def _wait_scraping(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"prometheus exited: {log.read_text()[-2000:]}")
        try:
            query = {"query": 'up{backend="hello-demo-blue"} == 1'}
            response = httpx.get(f"{url}/api/v1/query", params=query, timeout=1)
            if response.status_code == 200 and response.json()["data"]["result"]:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("prometheus did not scrape the stable instances within 60 s")


def _canary(url: str) -> dict[str, Any]:
    metric = {
        "name": "promql-success-rate",
        "interval": "3s",
        # The new instances' first scrapes: rate() needs two samples of the canary in its
        # window, which a loaded machine can delay; one inconclusive (NaN) measurement
        # among three must not turn a healthy canary into a pause.
        "initial_delay": "5s",
        "count": 3,
        "inconclusive_limit": 2,
        "success_condition": "result >= 0.95",
        "failure_condition": "result < 0.9",
        "provider": {"type": "prometheus", "address": url, "query": SUCCESS_RATE},
    }
    return {"type": "canary", "steps": [{"set_weight": 50}, {"analysis": {"metrics": [metric]}}]}


def _deploy(project_dir: Path, version: str, recorder: Recorder) -> Any:
    project = reopen(project_dir)
    load = start_load_in_background(
        f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/", duration=90, concurrency=8
    )
    try:
        return operations.deploy(project, ENV, version, recorder)
    except ReleaseFailedError as exc:
        return exc
    finally:
        load.stop()
        load.result(timeout=30)
        project.close()


def _promql(recorder: Recorder) -> list[dict[str, Any]]:
    return [f for _, f in recorder.named("measurement") if f["metric"] == "promql-success-rate"]


def test_promql_conditions_abort_a_canary_with_30_percent_errors(stack: tuple[Path, str]) -> None:
    project_dir, url = stack
    edit_spec(project_dir, ENV, strategy=_canary(url), env={"HELLO_ERROR_RATE": "0.3"})
    recorder = Recorder()

    result = _deploy(project_dir, "promql-bad", recorder)

    assert isinstance(result, ReleaseFailedError), result
    assert "promql-success-rate failed" in str(result) and "result < 0.9" in str(result)
    failed = [m for m in _promql(recorder) if m["phase"] == "failed"]
    assert failed and 0.6 <= failed[0]["value"] <= 0.8  # the canary's own 70 % success
    project = reopen(project_dir)
    try:
        assert project.ledger.in_progress(project.service, ENV) == []
        live = project.ledger.live_release(project.service, ENV)
        assert live is not None and live.version == "v1"
    finally:
        project.close()


def test_promql_conditions_promote_a_healthy_canary(stack: tuple[Path, str]) -> None:
    project_dir, url = stack
    edit_spec(project_dir, ENV, strategy=_canary(url), env={})
    recorder = Recorder()

    result = _deploy(project_dir, "promql-good", recorder)

    assert not isinstance(result, Exception), result
    assert result.status == "succeeded"
    measured = [m for m in _promql(recorder) if m["phase"] == "successful"]
    assert len(measured) >= 2 and all(m["value"] >= 0.95 for m in measured)
