"""The Traefik metric provider and analysis runs against a real Traefik and real backends.

Two small HTTP backends sit behind one Traefik route, split 50/50: "blue" (stable) always
healthy, "green" (canary) with knobs: answer 500 to exactly 3 of every 10 requests, or add
800 ms latency. Every assertion is on values computed from Traefik's real metrics.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from moai_deploy.analysis.background import BackgroundAnalysis
from moai_deploy.analysis.base import AnalysisPhase, MeasureTarget
from moai_deploy.analysis.judge import judge_target
from moai_deploy.analysis.run import RunOptions, run_analysis
from moai_deploy.analysis.traefik import AccessLogSamples, TraefikMetricProvider
from moai_deploy.runtime.base import free_port
from moai_deploy.spec.analysis import AnalysisSpec, JudgeSpec, MetricSpec
from moai_deploy.traffic.base import Routing, WeightedBackend
from moai_deploy.traffic.traefik import TraefikProcess, TraefikRouter

pytestmark = pytest.mark.slow

ROUTE = "hello-production"
STABLE, CANARY = "hello-production-blue", "hello-production-green"
TARGET = MeasureTarget(CANARY, STABLE)


class _KnobServer(ThreadingHTTPServer):
    daemon_threads = True
    error_tenths = 0  # requests out of every 10 that answer 500
    delay = 0.0
    served = 0
    failed = 0

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # Traefik drops idle conns
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _KnobServer
    lock = threading.Lock()

    def do_GET(self) -> None:
        status = 200
        if self.path == "/":  # Traefik's health checks hit /ready: keep them out of the counts
            with self.lock:
                n = self.server.served
                self.server.served += 1
                if n % 10 < self.server.error_tenths:
                    status = 500
                    self.server.failed += 1
            time.sleep(self.server.delay)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


class Backend:
    """A real HTTP server thread with misbehaviour knobs."""

    def __init__(self) -> None:
        self.server = _KnobServer(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def traefik(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TraefikProcess]:
    process = TraefikProcess(tmp_path_factory.mktemp("traefik"), {"production": free_port()})
    try:
        process.ensure_running()
        yield process
    finally:
        process.stop()


@pytest.fixture
def backends(traefik: TraefikProcess) -> Iterator[tuple[Backend, Backend]]:
    """Stable and canary, 50/50 behind the route; removed afterwards."""
    stable, canary = Backend(), Backend()
    router = TraefikRouter(traefik)
    routing = Routing(
        ROUTE,
        "production",
        (
            WeightedBackend(STABLE, 50, (stable.url,)),
            WeightedBackend(CANARY, 50, (canary.url,)),
        ),
    )
    try:
        router.set_weights(routing)
        router.verify(routing)
        yield stable, canary
    finally:
        router.remove(ROUTE)
        stable.close()
        canary.close()


@pytest.fixture
def provider(traefik: TraefikProcess) -> Iterator[TraefikMetricProvider]:
    metrics = TraefikMetricProvider(traefik.metrics_url, traefik.metrics_credentials())
    try:
        yield metrics
    finally:
        metrics.close()


def send(traefik: TraefikProcess, count: int) -> None:
    with httpx.Client(base_url=traefik.entrypoint_url("production"), timeout=10) as client:
        for _ in range(count):
            client.get("/")


class Load:
    """Steady bounded traffic through Traefik from a background thread."""

    def __init__(self, traefik: TraefikProcess, rate: float = 100.0, limit: float = 30.0) -> None:
        self._url = traefik.entrypoint_url("production")
        self._pause = 1 / rate
        self._limit = limit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        deadline = time.monotonic() + self._limit
        with httpx.Client(base_url=self._url, timeout=10) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                client.get("/")
                self._stop.wait(self._pause)


def metric(name: str, measure: str, **extra: object) -> MetricSpec:
    return MetricSpec.model_validate(
        {"name": name, "provider": {"measure": measure}, "success_condition": "result > 0", **extra}
    )


def test_success_rate_and_request_counts_per_version_from_real_scrapes(
    traefik: TraefikProcess, backends: tuple[Backend, Backend], provider: TraefikMetricProvider
) -> None:
    stable, canary = backends
    canary.server.error_tenths = 3
    send(traefik, 10)  # traffic before the baseline must not count
    provider.begin(TARGET)
    served_before = (stable.server.served, canary.server.served, canary.server.failed)
    send(traefik, 300)
    time.sleep(0.1)
    stable_n = stable.server.served - served_before[0]
    canary_n = canary.server.served - served_before[1]
    canary_failed = canary.server.failed - served_before[2]
    success = provider.measure(metric("sr", "success_rate"), TARGET, 1.0)
    assert success.error is None
    assert (success.samples, success.stable_samples) == (canary_n, stable_n)
    assert canary_n > 100 and stable_n > 100
    assert success.value == pytest.approx(1 - canary_failed / canary_n)
    assert success.value is not None and 0.68 <= success.value <= 0.72
    stable_view = provider.measure(metric("sr", "success_rate"), MeasureTarget(STABLE), 1.0)
    assert stable_view.value == 1.0
    spike = provider.measure(metric("spike", "error_rate_delta"), TARGET, 1.0)
    assert spike.value == pytest.approx(canary_failed / canary_n)


def test_p95_latency_per_version_from_real_histograms(
    traefik: TraefikProcess, backends: tuple[Backend, Backend], provider: TraefikMetricProvider
) -> None:
    _, canary = backends
    canary.server.delay = 0.8
    provider.begin(TARGET)
    with Load(traefik, rate=1000, limit=4.0):  # sequential: the slow canary sets the pace
        time.sleep(4.0)
    p95 = metric("p95", "latency")
    slow = provider.measure(p95, TARGET, 4.0)
    fast = provider.measure(p95, MeasureTarget(STABLE), 4.0)
    # every canary request took 0.8 s: all fall into Traefik's (0.5, 1] bucket, and PromQL's
    # interpolation puts the 95th percentile at 0.5 + 0.95 * 0.5
    assert slow.value == pytest.approx(0.975, abs=0.01)
    # An outcome, not a tight timing: a loaded machine adds tens of ms to fast requests.
    assert fast.value is not None and fast.value < 0.25
    assert slow.samples >= 2 and fast.samples >= 2


def test_no_requests_in_the_window_is_no_data(
    backends: tuple[Backend, Backend], provider: TraefikMetricProvider
) -> None:
    provider.begin(TARGET)
    time.sleep(0.1)
    measurement = provider.measure(metric("sr", "success_rate"), TARGET, 1.0)
    assert measurement.value is None and measurement.error is None
    assert provider.measure(metric("rps", "request_rate"), TARGET, 1.0).value == 0.0


def test_an_unreachable_endpoint_is_a_measurement_error() -> None:
    broken = TraefikMetricProvider(f"http://127.0.0.1:{free_port()}/metrics", timeout=0.5)
    try:
        measurement = broken.measure(metric("sr", "success_rate"), TARGET, 1.0)
    finally:
        broken.close()
    assert measurement.value is None and measurement.error is not None
    assert "scraping" in measurement.error


def test_background_analysis_fails_within_two_intervals_of_the_fault(
    traefik: TraefikProcess, backends: tuple[Backend, Backend], provider: TraefikMetricProvider
) -> None:
    interval = 1.0
    spec = AnalysisSpec.model_validate(
        {"metrics": [{"template": "success-rate", "interval": interval}]}
    )
    _, canary = backends
    with Load(traefik, rate=100):
        background = BackgroundAnalysis(spec, provider, TARGET)
        background.start()
        try:
            time.sleep(2.5)  # healthy windows first
            assert background.verdict().phase is AnalysisPhase.RUNNING
            assert background.verdict().metrics[0].successful >= 2
            canary.server.error_tenths = 3
            fault = time.monotonic()
            while background.verdict().phase is AnalysisPhase.RUNNING:
                assert time.monotonic() - fault < 10, "the analysis never failed"
                time.sleep(0.01)
            decided = time.monotonic() - fault
        finally:
            verdict = background.stop()
    assert verdict.phase is AnalysisPhase.FAILED
    last = verdict.metrics[0].last
    assert last is not None and last.value is not None and last.value < 0.95
    print(f"fault -> failed verdict: {decided:.2f} s (interval {interval} s)")
    assert decided <= 2 * interval + 0.2


def test_blocking_analysis_of_a_slow_canary_fails_and_the_judge_agrees(
    traefik: TraefikProcess, backends: tuple[Backend, Backend], provider: TraefikMetricProvider
) -> None:
    _, canary = backends
    canary.server.delay = 0.8
    samples = AccessLogSamples(traefik.access_log)
    spec = AnalysisSpec.model_validate(
        {
            "metrics": [
                {"template": "p95-latency", "interval": 1.5, "count": 3, "failure_limit": 1},
                {"template": "success-rate", "interval": 1.5, "count": 3},
            ]
        }
    )
    started = time.time()
    with Load(traefik, rate=200):
        result = run_analysis(spec, provider, TARGET, options=RunOptions(samples=samples))
        # A few more 0.8 s canary requests for the judge: a sequential client gets only a
        # handful in the analysis's ~3 s, too close to min_samples on a loaded machine.
        deadline = time.monotonic() + 20
        while len(samples.samples(TARGET.canary, started - 1, time.time())) < 6:
            assert time.monotonic() < deadline, "the canary's requests never reached the log"
            time.sleep(0.2)
    by_name = {m.name: m for m in result.metrics}
    assert result.phase is AnalysisPhase.FAILED
    assert by_name["p95-latency"].phase is AnalysisPhase.FAILED
    assert by_name["p95-latency"].failed == 2
    assert by_name["success-rate"].failed == 0
    # the access log saw the same requests: per-request durations for the judge
    judged = judge_target(JudgeSpec(min_samples=3), samples, TARGET, (started - 1, time.time() + 1))
    latency = {c.name: c for c in judged.comparisons}["latency"]
    assert latency.classification == "high" and judged.verdict == "fail"
    assert latency.canary_mean is not None and latency.canary_mean >= 0.8
