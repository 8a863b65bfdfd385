"""The routers' own health checks take an app that answers its readiness path with a
redirect (http -> https, / -> /login) as alive, as `ready_status` promises: Traefik does not
follow the redirect (to an https port nobody serves) and HAProxy takes any 3xx; with
`ready_status: "<500"` HAProxy also takes a 4xx (a 404 page proves the process serves).
Without that, the router marks the only healthy server down and every request gets 503."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from moai_deploy.runtime.base import free_port
from moai_deploy.traffic.base import Routing, WeightedBackend
from moai_deploy.traffic.choose import router_pair

ROUTE, ENTRYPOINT = "shop-production", "production"
WATCH_SECONDS = 5.0  # several health-check intervals of both routers (1 s / 1 s)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    answer = (301, "https://shop.example.com/")

    def handle_error(self, request: object, client_address: object) -> None:
        return  # health checkers close connections abruptly: not a failure of the app


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        code, location = self.server.answer
        self.send_response(code)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def app() -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _served_codes(url: str) -> set[int]:
    """Every status a client got through the router while the health checks ran."""
    codes: set[int] = set()
    deadline = time.monotonic() + WATCH_SECONDS
    with httpx.Client(timeout=5.0, follow_redirects=False) as client:
        while time.monotonic() < deadline:
            codes.add(client.get(url + "/").status_code)
            time.sleep(0.1)
    return codes


@pytest.mark.parametrize(
    ("router", "accept", "answer"),
    [
        pytest.param("traefik", "<500", (301, "https://shop.example.com/"), id="traefik-https"),
        pytest.param("traefik", "<500", (302, "/login"), id="traefik-login"),
        pytest.param("haproxy", "<500", (301, "https://shop.example.com/"), id="haproxy-https"),
        pytest.param("haproxy", "2xx", (302, "/login"), id="haproxy-login"),
        pytest.param("haproxy", "<500", (404, None), id="haproxy-404"),
    ],
)
def test_a_redirecting_app_stays_in_the_router(
    tmp_path: Path, app: _Server, router: str, accept: str, answer: tuple[int, str | None]
) -> None:
    app.answer = answer
    pair = router_pair(router, tmp_path / "state", {ENTRYPOINT: free_port()}, "127.0.0.1",
                       ("/", accept))  # fmt: skip
    pair.process.ensure_running()
    try:
        backend = WeightedBackend(
            f"{ROUTE}-blue", 100, (f"http://127.0.0.1:{app.server_address[1]}",)
        )
        routing = Routing(ROUTE, ENTRYPOINT, (backend,), health_path="/")
        pair.router.set_weights(routing)
        pair.router.verify(routing, timeout=15)
        codes = _served_codes(pair.process.entrypoint_url(ENTRYPOINT))  # type: ignore[attr-defined]
        assert codes == {answer[0]}, f"the router answered {codes}: it marked the app down"
        down = getattr(pair.router, "servers_down", None)
        if down is not None:
            assert down(backend.name) == []
    finally:
        pair.process.stop()
