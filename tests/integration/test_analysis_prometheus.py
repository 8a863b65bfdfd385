"""The Prometheus metric provider against a real Prometheus server scraping a real Traefik.

Prometheus comes from Debian's `prometheus` package (`apt-get install prometheus`); PyPI has
no package shipping its binary. Without it the test skips, except under CI, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from moai_deploy.analysis.base import AnalysisPhase, MeasureTarget
from moai_deploy.analysis.prometheus import PrometheusMetricProvider
from moai_deploy.analysis.run import run_analysis
from moai_deploy.runtime.base import free_port
from moai_deploy.spec.analysis import AnalysisSpec, MetricSpec
from moai_deploy.traffic.base import Routing, WeightedBackend
from moai_deploy.traffic.traefik import TraefikProcess, TraefikRouter

pytestmark = pytest.mark.slow

STABLE, CANARY = "hello-production-blue", "hello-production-green"
TARGET = MeasureTarget(CANARY, STABLE)
SUCCESS_RATE = (
    'sum(increase(traefik_service_requests_total{service="{{canary}}@file",code!~"5.."}'
    "[{{window}}])) / "
    'sum(increase(traefik_service_requests_total{service="{{canary}}@file"}[{{window}}]))'
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    error_tenths = 0
    served = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    lock = threading.Lock()

    def do_GET(self) -> None:
        status = 200
        if self.path == "/":
            with self.lock:
                if self.server.served % 10 < self.server.error_tenths:
                    status = 500
                self.server.served += 1
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        message = "no prometheus binary: `apt-get install prometheus` (Debian package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TraefikProcess]]:
    """A real Traefik routing 50/50 to stable and a 30 %-failing canary, and a real
    Prometheus scraping Traefik every second. Yields Prometheus's URL."""
    binary = _prometheus_binary()
    root = tmp_path_factory.mktemp("prom")
    servers = [_Server(("127.0.0.1", 0), _Handler) for _ in range(2)]
    servers[1].error_tenths = 3
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    traefik = TraefikProcess(root / "traefik", {"production": free_port()})
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        traefik.ensure_running()
        urls = [f"http://127.0.0.1:{s.server_address[1]}" for s in servers]
        routing = Routing(
            "hello-production",
            "production",
            (WeightedBackend(STABLE, 50, (urls[0],)), WeightedBackend(CANARY, 50, (urls[1],))),
        )
        TraefikRouter(traefik).set_weights(routing)
        TraefikRouter(traefik).verify(routing)
        prometheus, url = _start_prometheus(binary, root, traefik)
        _wait_ready(url, prometheus, root / "prometheus.log")
        yield url, traefik
    finally:
        if prometheus is not None:
            _stop(prometheus)
        traefik.stop()
        for server, thread in zip(servers, threads, strict=True):
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def _start_prometheus(
    binary: str, root: Path, traefik: TraefikProcess
) -> tuple[subprocess.Popen[bytes], str]:
    """Prometheus scraping Traefik's metrics (with its password) every second, on a free
    loopback port."""
    user, _ = traefik.metrics_credentials()
    job = {
        "job_name": "traefik",
        "static_configs": [{"targets": [httpx.URL(traefik.metrics_url).netloc.decode()]}],
        "basic_auth": {"username": user, "password_file": str(traefik.metrics_password_file)},
    }
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [job],
    }
    (root / "prometheus.yml").write_text(json.dumps(config))  # JSON is valid YAML
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


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for Prometheus's first scrape of Traefik (its target discovery takes ~5 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"prometheus exited: {log.read_text()[-2000:]}")
        try:
            response = httpx.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=1)
            results = response.json()["data"]["result"] if response.status_code == 200 else []
            if any(r["value"][1] == "1" for r in results):  # scraped, not refused (401)
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail("prometheus did not scrape Traefik within 30 s")


def _traffic(traefik: TraefikProcess, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=traefik.entrypoint_url("production")) as client:
        while time.monotonic() < deadline:
            client.get("/")
            time.sleep(0.005)


def test_promql_measures_the_canary_and_stable_success_rates(
    stack: tuple[str, TraefikProcess],
) -> None:
    url, traefik = stack
    _traffic(traefik, 6.0)  # several scrapes with traffic in them
    provider = PrometheusMetricProvider()
    try:
        spec = MetricSpec.model_validate(
            {
                "name": "sr",
                "success_condition": "result >= 0.95",
                "provider": {"type": "prometheus", "address": url, "query": SUCCESS_RATE},
            }
        )
        canary = provider.measure(spec, TARGET, 5.0)
        stable = provider.measure(spec, MeasureTarget(STABLE), 5.0)
        nobody = provider.measure(spec, MeasureTarget("hello-production-nobody"), 5.0)
        bad = provider.measure(
            spec.model_copy(
                update={"provider": spec.provider.model_copy(update={"query": "sum("})}
            ),
            TARGET,
            5.0,
        )
    finally:
        provider.close()
    assert canary.error is None and canary.value == pytest.approx(0.7, abs=0.05)
    assert stable.value == 1.0
    assert nobody.value is None and nobody.error is None  # empty vector: no data
    assert bad.value is None and bad.error is not None and "bad_data" in bad.error


def test_an_analysis_over_prometheus_fails_the_faulty_canary(
    stack: tuple[str, TraefikProcess],
) -> None:
    url, traefik = stack
    # A window must span two scrapes for increase(): with 1 s measurements, query 5 s.
    query = SUCCESS_RATE.replace("{{window}}", "5s")
    spec = AnalysisSpec.model_validate(
        {
            "metrics": [
                {
                    "name": "success-rate",
                    "interval": 1,
                    "count": 3,
                    "failure_limit": 1,
                    "success_condition": "result >= 0.95",
                    "provider": {"type": "prometheus", "address": url, "query": query},
                }
            ]
        }
    )
    load = threading.Thread(target=_traffic, args=(traefik, 6.0))
    load.start()
    provider = PrometheusMetricProvider()
    try:
        result = run_analysis(spec, provider, TARGET)
    finally:
        provider.close()
        load.join()
    assert result.phase is AnalysisPhase.FAILED
    assert result.metrics[0].failed == 2
    assert result.metrics[0].last is not None
    assert result.metrics[0].last.value == pytest.approx(0.7, abs=0.1)


def test_a_window_shorter_than_two_scrapes_is_no_data_not_success(
    stack: tuple[str, TraefikProcess],
) -> None:
    url, traefik = stack
    _traffic(traefik, 2.0)
    provider = PrometheusMetricProvider()
    try:
        spec = MetricSpec.model_validate(
            {
                "name": "sr",
                "success_condition": "result >= 0.95",
                "provider": {"type": "prometheus", "address": url, "query": SUCCESS_RATE},
            }
        )
        measurement = provider.measure(spec, TARGET, 0.5)  # [1s]: one scrape at most
    finally:
        provider.close()
    assert measurement.value is None and measurement.error is None
