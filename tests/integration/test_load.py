"""run_load against a real local HTTP/1.1 server that counts what it really received."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from moai_deploy.observe.load import run_load, start_load_in_background
from moai_deploy.runtime.base import free_port

SERVER_VERSION = "9.9.9"


class CountingServer(ThreadingHTTPServer):
    """Answers every GET, counting connections, requests and the 500s it sends."""

    daemon_threads = True

    def __init__(self, fail_every: int = 0) -> None:
        super().__init__(("127.0.0.1", 0), CountingHandler)
        self.fail_every = fail_every
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.errors = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def count_request(self) -> bool:
        """Count one request; True when it must be answered with a 500."""
        with self.lock:
            self.requests += 1
            fail = self.fail_every > 0 and self.requests % self.fail_every == 0
            self.errors += fail
            return fail


class CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the services the tool deploys
    disable_nagle_algorithm = True  # header and body go out at once, no 40 ms stalls
    server: CountingServer

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_GET(self) -> None:
        fail = self.server.count_request()
        body = b"oops" if fail else b"hello"
        self.send_response(500 if fail else 200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-App-Version", SERVER_VERSION)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


def serve(fail_every: int = 0) -> Iterator[CountingServer]:
    server = CountingServer(fail_every)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    yield from serve()


@pytest.fixture
def failing_server() -> Iterator[CountingServer]:
    yield from serve(fail_every=7)


@pytest.mark.slow
def test_every_request_is_recorded_over_one_keep_alive_connection_per_worker(
    server: CountingServer,
) -> None:
    report = run_load(server.url, duration=2.0, concurrency=4)
    assert report.total == server.requests
    assert report.total > 100  # a keep-alive loopback loop does far more in 2 s
    assert server.connections == 4
    assert report.failed == 0
    assert {s.version for s in report.samples} == {SERVER_VERSION}
    assert 2.0 <= report.duration < 3.0
    assert all(0 <= s.start < 2.0 for s in report.samples)
    assert report.p50 <= report.p99 < 1.0


@pytest.mark.slow
def test_server_errors_are_counted_exactly(failing_server: CountingServer) -> None:
    report = run_load(failing_server.url, duration=1.0, concurrency=4)
    assert failing_server.errors > 0
    assert report.failed == failing_server.errors
    assert report.total == failing_server.requests
    assert {s.status for s in report.samples if s.failed} == {500}


@pytest.mark.slow
def test_background_load_stops_on_request(server: CountingServer) -> None:
    handle = start_load_in_background(server.url, duration=60.0, concurrency=2)
    time.sleep(0.5)
    stopped_at = handle.elapsed()
    handle.stop()
    report = handle.result(timeout=10)
    assert report.duration < 5.0
    assert report.total == server.requests > 0
    # Offsets share the handle's clock: nothing starts long after it was asked to stop.
    assert max(s.start for s in report.samples) < stopped_at + 0.5
    assert stopped_at >= 0.5


def test_dead_port_gives_recorded_failures_not_exceptions() -> None:
    report = run_load(f"http://127.0.0.1:{free_port()}/", duration=0.3, concurrency=2)
    assert report.total > 0
    assert report.failed == report.total
    assert {(s.status, s.error) for s in report.samples} == {(None, "ConnectionRefusedError")}
    assert report.versions_timeline() == [(0.0, {})]
