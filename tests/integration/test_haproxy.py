"""Real HAProxy in front of tiny real HTTP backends: splits, read-back, drain, restarts, metrics."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from moai_deploy.analysis.base import MeasureTarget
from moai_deploy.analysis.haproxy import HaproxyMetricProvider
from moai_deploy.runtime.base import free_port
from moai_deploy.spec.analysis import MetricSpec
from moai_deploy.traffic.base import Routing, TrafficError, WeightedBackend
from moai_deploy.traffic.haproxy import HaproxyProcess, HaproxyRouter

pytestmark = pytest.mark.slow

ROUTE = "hello-production"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    name = ""
    status = 200
    ready = 200

    def handle_error(self, request: object, client_address: object) -> None:
        # HAProxy closes its health-check connections with a reset: not a test failure.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(1.5)
        body = self.server.name.encode()
        self.send_response(self.server.ready if self.path == "/ready" else self.server.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Backend:
    """An HTTP server thread answering its name (with `status`; /ready is always 200)."""

    def __init__(self, name: str, status: int = 200) -> None:
        self.name = name
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.name, self.server.status = name, status
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
def backends() -> Iterator[tuple[Backend, Backend]]:
    a, b = Backend("hello-production-a"), Backend("hello-production-b")
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def haproxy(tmp_path: Path) -> Iterator[HaproxyProcess]:
    # A deep folder: the admin socket's path is longer than a unix socket name may be.
    root = tmp_path / ("deep-" * 12) / "state" / "haproxy"
    process = HaproxyProcess(root, {"production": free_port()})
    process.ensure_running()
    yield process
    process.stop()


def weights(a: Backend, wa: int, b: Backend, wb: int) -> Routing:
    return Routing(
        ROUTE,
        "production",
        (WeightedBackend(a.name, wa, (a.url,)), WeightedBackend(b.name, wb, (b.url,))),
    )


def served(process: HaproxyProcess, count: int, path: str = "/") -> Counter[str]:
    with httpx.Client(base_url=process.entrypoint_url("production"), timeout=10) as client:
        return Counter(client.get(path).text for _ in range(count))


def test_weights_change_without_reload_and_split_exactly(
    haproxy: HaproxyProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    router = HaproxyRouter(haproxy)
    pid = haproxy.pid()
    for wa, wb in [(100, 0), (30, 70), (0, 100)]:
        routing = weights(a, wa, b, wb)
        router.set_weights(routing)
        router.verify(routing, timeout=5)
        assert served(haproxy, 100) == +Counter({a.name: wa, b.name: wb})
    assert haproxy.pid() == pid  # the same process all along: no reload, no restart
    stats = csv.DictReader(io.StringIO(haproxy.api().run("show stat").lstrip("# ")))
    backend = next(r for r in stats if r["pxname"] == "production" and r["svname"] == "BACKEND")
    # Keep-alive connections to the instances are reused, not opened per request (HAProxy
    # 2.6 does that only for servers of the configuration, hence the slots).
    assert int(backend["reuse"]) > int(backend["connect"])
    current = router.current(ROUTE)
    assert current is not None and current.weights() == {a.name: 0, b.name: 100}


def test_verify_reads_the_weights_back_from_haproxy(
    haproxy: HaproxyProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    router = HaproxyRouter(haproxy)
    routing = weights(a, 50, b, 50)
    router.set_weights(routing)
    router.verify(routing, timeout=5)
    haproxy.api().must("set server production/production.s1 weight 7")  # behind our back
    with pytest.raises(TrafficError, match="has weight 7"):
        router.verify(routing, timeout=0.3)
    router.set_weights(routing)  # applying it again repairs it
    router.verify(routing, timeout=5)
    haproxy.api().must("set map versions.map production.s1 somebody-else")
    with pytest.raises(TrafficError, match="is logged as somebody-else"):
        router.verify(routing, timeout=0.3)


def test_new_instances_replace_old_ones_and_in_flight_requests_finish(
    haproxy: HaproxyProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    router = HaproxyRouter(haproxy)
    first = Routing(ROUTE, "production", (WeightedBackend("v1", 100, (a.url,)),))
    router.set_weights(first)
    router.verify(first, timeout=5)
    slow: list[httpx.Response] = []
    url = haproxy.entrypoint_url("production") + "/slow"
    request = threading.Thread(target=lambda: slow.append(httpx.get(url, timeout=10)))
    request.start()
    time.sleep(0.3)  # the slow request is on a's server now
    second = Routing(ROUTE, "production", (WeightedBackend("v2", 100, (b.url,)),))
    router.set_weights(second)
    router.verify(second, timeout=5)
    assert served(haproxy, 10) == Counter({b.name: 10})
    request.join(timeout=10)
    assert slow and slow[0].status_code == 200 and slow[0].text == a.name  # drained, not cut
    live = {n: s for n, s in haproxy.api().servers("production").items() if not s.in_maintenance}
    assert [(s.port, s.weight) for s in live.values()] == [(b.server.server_address[1], 1)]


def test_a_restarted_haproxy_serves_the_last_routing_at_once(
    haproxy: HaproxyProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    router = HaproxyRouter(haproxy)
    routing = weights(a, 0, b, 100)
    router.set_weights(routing)
    haproxy.stop()
    assert not haproxy.is_running()
    router.set_weights(weights(a, 100, b, 0))  # saved while stopped...
    again = HaproxyProcess(haproxy.root, haproxy.entrypoints)  # ...another CLI run starts it
    again.ensure_running()
    assert served(again, 5) == Counter({a.name: 5})
    HaproxyRouter(again).verify(weights(a, 100, b, 0), timeout=5)


def test_remove_stops_routing_and_entrypoints_are_not_shared(
    haproxy: HaproxyProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    router = HaproxyRouter(haproxy)
    router.set_weights(weights(a, 100, b, 0))
    other = Routing("other", "production", (WeightedBackend("x", 100, (a.url,)),))
    with pytest.raises(TrafficError, match="already serves route"):
        router.set_weights(other)
    router.remove(ROUTE)
    assert router.current(ROUTE) is None
    assert httpx.get(haproxy.entrypoint_url("production"), timeout=5).status_code == 503
    router.set_weights(other)  # the entrypoint is free again
    router.verify(other, timeout=5)


def test_state_is_private_to_its_owner(
    haproxy: HaproxyProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    HaproxyRouter(haproxy).set_weights(weights(a, 50, b, 50))
    assert stat.S_IMODE(haproxy.root.stat().st_mode) == 0o700
    pid = haproxy.pid()
    assert pid is not None
    socket = haproxy.settings.socket(pid)
    assert stat.S_ISSOCK(socket.stat().st_mode) and stat.S_IMODE(socket.stat().st_mode) == 0o600
    written = ["haproxy.cfg", "versions.map", "slots.json", "state.json", f"routes/{ROUTE}.json"]
    written += ["metrics.password", "access.log", "watchdog.log", "supervise.json"]
    for path in (haproxy.root / name for name in written):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_its_prometheus_exporter_answers_its_owner_only(
    haproxy: HaproxyProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    HaproxyRouter(haproxy).set_weights(weights(a, 50, b, 50))
    served(haproxy, 4)
    url = haproxy.metrics_url
    assert httpx.get(url, timeout=5).status_code == 401  # anyone on the host: no
    wrong = httpx.get(url, auth=("moai-deploy", "guess-guess-guess-guess"), timeout=5)
    assert wrong.status_code == 401
    user, password = haproxy.metrics_credentials()
    answer = httpx.get(url, auth=(user, password), timeout=5)
    assert answer.status_code == 200
    assert 'haproxy_backend_http_responses_total{proxy="production",code="2xx"}' in answer.text
    assert httpx.get(url.replace("/metrics", "/"), auth=(user, password)).status_code == 403


def test_a_killed_haproxy_is_replaced_by_its_standby_with_the_latest_weights(
    haproxy: HaproxyProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    router = HaproxyRouter(haproxy)
    state = haproxy.supervisor.state()
    deadline = time.monotonic() + 20
    while state is None or len([g for g in state.generations if g.ready]) < 2:
        assert time.monotonic() < deadline, f"no warm standby: {state}"
        time.sleep(0.1)
        state = haproxy.supervisor.state()
    serving, standby = state.generations[0].pid, state.generations[1].pid
    # Changed at run time, after both started: the standby must have it too.
    router.set_weights(weights(a, 0, b, 100))
    router.verify(weights(a, 0, b, 100), timeout=5)
    os.kill(serving, signal.SIGKILL)
    killed_at = time.monotonic()
    with httpx.Client(base_url=haproxy.entrypoint_url("production"), timeout=5) as client:
        while True:
            try:
                first = client.get("/")
                break
            except httpx.TransportError:
                assert time.monotonic() - killed_at < 2.0, "not served again within 2 s"
                time.sleep(0.01)
        answers = Counter([first.text, *(client.get("/").text for _ in range(20))])
    assert answers == Counter({b.name: 21})  # the standby serves the latest weights
    assert haproxy.pid() == standby
    assert haproxy.restarts() >= 1
    deadline = time.monotonic() + 20
    while len(haproxy.apis()) < 2:  # a new standby, and it gets the next change as well
        assert time.monotonic() < deadline, "no new standby after the kill"
        time.sleep(0.1)
    router.set_weights(weights(a, 100, b, 0))
    router.verify(weights(a, 100, b, 0), timeout=10)


def test_the_request_log_gives_per_version_counts_errors_and_latency(
    haproxy: HaproxyProcess,
) -> None:
    good, bad = Backend("hello-production-blue"), Backend("hello-production-green", status=500)
    try:
        router = HaproxyRouter(haproxy)
        routing = weights(good, 50, bad, 50)
        router.set_weights(routing)
        router.verify(routing, timeout=5)
        provider = HaproxyMetricProvider(haproxy.access_log)
        target = MeasureTarget(bad.name, good.name)
        provider.begin(target)
        served(haproxy, 40)
        time.sleep(0.3)
        spec = {"name": "m", "success_condition": "result >= 0"}
        success = MetricSpec.model_validate({**spec, "provider": {"measure": "success_rate"}})
        measured = provider.measure(success, target, 30.0)
        assert (measured.value, measured.samples, measured.stable_samples) == (0.0, 20, 20)
        latency = {"measure": "latency", "quantile": 0.5}
        p50 = provider.measure(MetricSpec.model_validate({**spec, "provider": latency}), target, 30)
        assert p50.value is not None and 0 <= p50.value < 1.0
    finally:
        good.close()
        bad.close()


def test_servers_its_health_check_holds_down_are_named_for_the_guard(
    haproxy: HaproxyProcess, backends: tuple[Backend, Backend]
) -> None:
    good, _ = backends
    sick = Backend("hello-production-sick")
    sick.server.ready = 503  # answers requests, fails its readiness checks
    try:
        router = HaproxyRouter(haproxy)
        assert router.servers_down(sick.name) is None  # not routed: HAProxy cannot say
        router.set_weights(weights(good, 50, sick, 50))
        deadline = time.monotonic() + 15
        while router.servers_down(sick.name) != [sick.url]:
            assert time.monotonic() < deadline, router.servers_down(sick.name)
            time.sleep(0.2)
        assert router.servers_down(good.name) == []
        assert set(served(haproxy, 10)) == {good.name}  # routed around the sick one
    finally:
        sick.close()


def test_an_unsupervised_haproxy_of_an_older_version_is_seen_and_stopped(tmp_path: Path) -> None:
    root = tmp_path / "haproxy"
    root.mkdir(mode=0o700)
    port = free_port()
    process = HaproxyProcess(root, {"production": port})
    # What the previous version left: HAProxy started directly, its pid in state.json.
    config = "defaults\n    mode http\n    timeout client 5s\n    timeout connect 5s\n"
    config += f"    timeout server 5s\nfrontend production\n    bind 127.0.0.1:{port}\n"
    process.config_file.write_text(config)
    old = subprocess.Popen(
        ["haproxy", "-db", "-f", str(process.config_file)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        (root / "state.json").write_text(json.dumps({"pid": old.pid, "static_hash": "old"}))
        deadline = time.monotonic() + 10
        while not process.is_running():
            assert time.monotonic() < deadline, "the older HAProxy is not seen"
            time.sleep(0.05)
        process.stop()
        assert old.wait(timeout=20) is not None
        assert not process.is_running()
    finally:
        if old.poll() is None:
            old.kill()
            old.wait()


def test_the_request_log_stays_bounded_over_many_rotations(
    tmp_path: Path, backends: tuple[Backend, Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    # HAProxy's first log line clears O_APPEND on its stdout (fcntl F_SETFL O_NONBLOCK); the
    # watchdog puts it back and the offset to 0 when it empties the file, else HAProxy wrote
    # on at its old offset and every rotation copied a bigger, mostly-zero file.
    import moai_deploy.traffic.haproxy.process as process_module

    bound = 16 * 1024
    monkeypatch.setattr(process_module, "MAX_LOG_BYTES", bound)
    process = HaproxyProcess(tmp_path / "haproxy", {"production": free_port()})
    a, b = backends
    log, rotated = process.access_log, process.access_log.with_name("access.log.1")
    try:
        process.ensure_running()
        router = HaproxyRouter(process)
        routing = weights(a, 100, b, 0)
        router.set_weights(routing)
        router.verify(routing)
        backups: set[int] = set()  # inode numbers: each rotation makes a new backup file
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=process.entrypoint_url("production"), timeout=10) as client:
            while len(backups) < 4 and time.monotonic() < deadline:
                for _ in range(100):
                    assert client.get("/").status_code == 200
                if rotated.exists():
                    backups.add(rotated.stat().st_ino)
                    # Written on from the start after each emptying: no hole, no zeros.
                    assert b"\0" not in log.read_bytes(), f"a hole of {log.stat().st_size} B"
        assert len(backups) >= 4, f"{len(backups)} rotations in 60 s"
        assert b"\0" not in rotated.read_bytes()
        assert (log.stat().st_mode & 0o077) == 0 and (rotated.stat().st_mode & 0o077) == 0
    finally:
        process.stop()
