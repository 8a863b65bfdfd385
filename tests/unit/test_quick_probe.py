"""The light readiness probe (`moai-deploy status`) and the rollout's httpx probe agree on
every answer: 2xx, redirects (same origin, to https, to a missing page), errors, no server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from moai_deploy.rollout.health import ACCEPT_2XX, ACCEPT_BELOW_500, is_ready
from moai_deploy.rollout.quick_probe import ready_once
from moai_deploy.runtime.base import free_port

# path -> (status, Location)
ROUTES: dict[str, tuple[int, str | None]] = {
    "/ok": (200, None),
    "/to-login": (302, "/login"),
    "/login": (200, None),
    "/to-https": (301, "https://127.0.0.1/secure"),
    "/to-missing": (301, "/missing"),
    "/loop": (302, "/loop"),
    "/broken": (500, None),
    "/to-broken": (307, "/broken"),
}
EXPECTED = {  # (2xx, <500)
    "/ok": (True, True),
    "/to-login": (False, True),
    "/to-https": (False, True),
    "/to-missing": (False, True),  # a 404 page still proves the process serves
    "/loop": (False, True),  # gives up after 5 hops on a 3xx: still an answer below 500
    "/broken": (False, False),
    "/to-broken": (False, False),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code, location = ROUTES.get(self.path, (404, None))
        self.send_response(code)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", sorted(EXPECTED))
def test_light_probe_agrees_with_the_rollout_probe(base_url: str, path: str) -> None:
    for accept, expected in zip((ACCEPT_2XX, ACCEPT_BELOW_500), EXPECTED[path], strict=True):
        assert ready_once(base_url, path, accept) is expected, (path, accept)
        assert is_ready(base_url, path, accept=accept) is expected, (path, accept)


def test_no_server_is_not_ready() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert ready_once(url, "/ok", ACCEPT_BELOW_500) is False
    assert is_ready(url, "/ok", accept=ACCEPT_BELOW_500) is False
