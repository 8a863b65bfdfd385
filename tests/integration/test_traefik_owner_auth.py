"""Traefik's API and metrics answer the owner only (basic auth, the password in a 0600 file),
and a folder an older version left (`api.insecure`, no password) is upgraded on the next
start without a failed request."""

from __future__ import annotations

import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from moai_deploy.observe.load import start_load_in_background
from moai_deploy.runtime.base import free_port
from moai_deploy.runtime.local.daemon import wait_until
from moai_deploy.traffic.base import Routing, WeightedBackend
from moai_deploy.traffic.supervise import ListenSpec, RouterProgram
from moai_deploy.traffic.traefik import TraefikProcess, TraefikRouter, find_traefik_binary
from moai_deploy.traffic.traefik.config import (
    API_ENTRYPOINT,
    METRICS_ENTRYPOINT,
    OWNER_FILE,
    StaticSettings,
    build_static_config,
    config_hash,
    render,
)

pytestmark = pytest.mark.slow

CLIENTS = 4


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # Traefik drops idle conns
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def backend_url() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _start_as_an_older_version(process: TraefikProcess) -> None:
    """What moai-deploy ran before the owner's credentials: `api.insecure`, the metrics open
    on their entrypoint, no password file, no owner routers, a probe without credentials."""
    settings = StaticSettings(process.root, process.entrypoints, process.host, 0, 0)
    config = build_static_config(settings)
    config["api"]["insecure"] = True
    del config["metrics"]["prometheus"]["manualRouting"]
    text = render(config)
    process.static_file.write_text(text)
    listen = [ListenSpec(name, process.host, port) for name, port in process.entrypoints.items()]
    listen += [
        ListenSpec(API_ENTRYPOINT, shared=False),
        ListenSpec(METRICS_ENTRYPOINT, port=process._metrics_port()),
    ]
    program = RouterProgram(
        argv=(str(find_traefik_binary()), f"--configFile={process.static_file}"),
        env={},
        listen=tuple(listen),
        ready={"kind": "traefik", "dynamic_dir": str(process.dynamic_dir), "api": API_ENTRYPOINT},
        log_files=(str(process.access_log), str(process.log_file)),
        fingerprint=config_hash(text)[:16],
    )
    process.supervisor.start(program)
    process.supervisor.wait_serving(program.fingerprint, 30.0)


def _codes(process: TraefikProcess, auth: tuple[str, str] | None = None) -> list[int]:
    urls = [f"{process.api_url}/api/http/routers", f"{process.api_url}/api/rawdata"]
    return [httpx.get(url, auth=auth).status_code for url in [*urls, process.metrics_url]]


def test_an_older_versions_open_api_is_closed_on_the_next_start_with_no_failed_request(
    tmp_path: Path, backend_url: str
) -> None:
    root = tmp_path / "traefik"
    process = TraefikProcess(root, {"production": free_port()})
    routing = Routing(
        "hello-production",
        "production",
        (WeightedBackend("hello-production-a", 100, (backend_url,)),),
    )
    try:
        TraefikRouter(process).set_weights(routing)
        _start_as_an_older_version(process)
        assert _codes(process) == [200, 200, 200]  # the gap: anyone on the host read these
        assert not process.metrics_password_file.exists()
        old = process.supervisor.routers()

        # The project's load clients (`observe.load`, as in every zero-downtime figure).
        load = start_load_in_background(
            process.entrypoint_url("production"), duration=120, concurrency=CLIENTS
        )
        try:
            time.sleep(0.5)
            upgraded = TraefikProcess(root, process.entrypoints)  # the next CLI run
            upgraded.ensure_running()
            TraefikRouter(upgraded).verify(routing)  # every generation serves the route
            time.sleep(0.5)
        finally:
            load.stop()
            report = load.result(timeout=30)
        failed = Counter(s.error or s.status for s in report.samples if s.failed)
        print(f"\nupgrade under load: {report.failed} of {report.total} failed {dict(failed)}")
        # Every answer is the route's (never a 404 from a Traefik without its routes). A
        # retired Traefik closing an idle keep-alive connection can race a client's next
        # request (0-3 per run measured): at most once per client connection and retiree.
        assert report.total > 20 and not [s for s in report.samples if s.status not in (200, None)]
        assert report.failed <= CLIENTS * 2, failed

        assert stat.S_IMODE(upgraded.metrics_password_file.stat().st_mode) == 0o600
        assert stat.S_IMODE((upgraded.dynamic_dir / OWNER_FILE).stat().st_mode) == 0o600
        assert wait_until(lambda: not set(old) & set(upgraded.supervisor.routers()), 30.0)
        assert _codes(upgraded) == [401, 401, 401]
        assert _codes(upgraded, ("moai-deploy", "not-the-password")) == [401, 401, 401]
        assert _codes(upgraded, upgraded.metrics_credentials()) == [200, 200, 200]
        assert httpx.get(f"{upgraded.api_url}/ping").text == "OK"  # open: it says only that
    finally:
        process.stop()
    assert not process.is_running()


def test_the_password_is_kept_across_restarts_and_never_logged(
    tmp_path: Path, backend_url: str
) -> None:
    root = tmp_path / "traefik"
    process = TraefikProcess(root, {"production": free_port()})
    try:
        process.ensure_running()
        _, password = process.metrics_credentials()
        process.stop()
        process.ensure_running()  # a restart reads the same password, the same hash
        assert process.metrics_credentials()[1] == password
        assert _codes(process, process.metrics_credentials()) == [200, 200, 200]
    finally:
        process.stop()
    logs = [p for p in root.rglob("*") if p.is_file() and p != process.metrics_password_file]
    assert logs and not [p for p in logs if password in p.read_text(errors="replace")]
