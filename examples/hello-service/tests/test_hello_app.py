"""hello-service: every endpoint and every misbehaviour knob, through the real ASGI app."""

# @TEST:HELLO-001

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from app.knobs import KnobError
from app.main import VERSION_HEADER, create_app
from app.metrics import UNMATCHED
from app.version import __version__
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

SERVICE_DIR = Path(__file__).resolve().parent.parent


@contextmanager
def serve(**env: str) -> Iterator[TestClient]:
    """A client for an app built from `env`, with its lifespan started."""
    with TestClient(create_app(env)) as client:
        yield client


def statuses(client: TestClient, count: int) -> list[int]:
    return [client.get("/").status_code for _ in range(count)]


def samples(client: TestClient, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples called `name` from /metrics, keyed by their sorted labels."""
    text = client.get("/metrics").text
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def test_root_names_service_version_release_and_instance() -> None:
    with serve(MOAI_DEPLOY_VERSION="r42", MOAI_DEPLOY_INSTANCE="hello-prod-blue-0") as client:
        response = client.get("/")
    assert response.status_code == 200
    assert response.headers[VERSION_HEADER] == __version__ == "1.0.0"
    assert response.json() == {
        "service": "hello",
        "version": "1.0.0",
        "release": "r42",
        "instance": "hello-prod-blue-0",
    }


def test_root_without_deploy_variables_reports_nulls() -> None:
    with serve() as client:
        body = client.get("/").json()
    assert body["release"] is None
    assert body["instance"] is None


def test_health_and_ready_when_well_behaved() -> None:
    with serve() as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_ready_turns_503_once_shutdown_begins() -> None:
    client = TestClient(create_app({}))
    with client:
        assert client.get("/ready").status_code == 200
    # Leaving the block ran the lifespan shutdown; the app itself still answers.
    after = client.get("/ready")
    assert after.status_code == 503
    assert after.json()["reason"] == "shutting down"


@pytest.mark.parametrize(
    ("rate", "requests", "failures"),
    [("0.3", 10, 3), ("0.3", 100, 30), ("0", 50, 0), ("1", 20, 20), ("1/4", 100, 25)],
)
def test_error_rate_fails_an_exact_share_of_requests(
    rate: str, requests: int, failures: int
) -> None:
    with serve(HELLO_ERROR_RATE=rate) as client:
        codes = statuses(client, requests)
    assert codes.count(500) == failures
    assert codes.count(200) == requests - failures


def test_error_rate_spreads_failures_evenly() -> None:
    with serve(HELLO_ERROR_RATE="0.3") as client:
        codes = statuses(client, 10)
        failed = client.get("/")  # request 11 succeeds, 14 would fail
        assert client.get("/health").status_code == 200  # only / misbehaves
    assert [n for n, code in enumerate(codes, start=1) if code == 500] == [4, 7, 10]
    assert failed.status_code == 200


def test_failed_response_still_carries_version_header() -> None:
    with serve(HELLO_ERROR_RATE="1") as client:
        response = client.get("/")
    assert response.status_code == 500
    assert response.headers[VERSION_HEADER] == __version__


def test_latency_is_added_to_root_only() -> None:
    with serve(HELLO_LATENCY_MS="250") as client:
        started = time.perf_counter()
        assert client.get("/").status_code == 200
        slow = time.perf_counter() - started
        started = time.perf_counter()
        client.get("/health")
        fast = time.perf_counter() - started
    assert slow >= 0.25
    assert fast < 0.25


def test_start_delay_holds_ready_back_then_releases_it() -> None:
    with serve(HELLO_START_DELAY="0.5") as client:
        started = time.monotonic()
        early = client.get("/ready")
        assert client.get("/health").status_code == 200  # alive while not ready
        while client.get("/ready").status_code != 200:
            assert time.monotonic() - started < 5, "never became ready"
            time.sleep(0.05)
        waited = time.monotonic() - started
    assert early.status_code == 503
    assert "HELLO_START_DELAY" in early.json()["reason"]
    assert waited >= 0.45  # the delay runs from lifespan startup, just before `started`


def test_fault_after_delays_errors_until_the_release_has_run_a_while() -> None:
    with serve(HELLO_ERROR_RATE="1", HELLO_FAULT_AFTER="0.4") as client:
        started = time.monotonic()
        healthy = statuses(client, 5)
        assert time.monotonic() - started < 0.4, "too slow to observe the healthy phase"
        time.sleep(0.45)
        faulty = statuses(client, 3)
    assert healthy == [200] * 5
    assert faulty == [500] * 3


def test_unready_after_fails_readiness_but_keeps_serving() -> None:
    with serve(HELLO_UNREADY_AFTER="0.3") as client:
        first = client.get("/ready").status_code
        time.sleep(0.35)
        later = client.get("/ready")
        root = client.get("/").status_code
    assert first == 200 and later.status_code == 503
    assert "HELLO_UNREADY_AFTER" in later.json()["reason"]
    assert root == 200  # a readiness failure, not an outage: only the router's check sees it


def test_never_ready_stays_503() -> None:
    with serve(HELLO_NEVER_READY="true") as client:
        codes = {client.get("/ready").status_code for _ in range(3)}
        root = client.get("/")
    assert codes == {503}
    assert root.status_code == 200  # it serves, it just never asks for traffic


def test_metrics_count_requests_by_route_template_and_status() -> None:
    with serve(HELLO_ERROR_RATE="0.5") as client:
        statuses(client, 4)  # requests 2 and 4 fail
        client.get("/health")
        client.get("/no/such/path/123")
        counts = samples(client, "http_requests_total")
        durations = samples(client, "http_request_duration_seconds_count")
    get = ("method", "GET")
    assert counts[(("endpoint", "/"), get, ("status", "200"))] == 2
    assert counts[(("endpoint", "/"), get, ("status", "500"))] == 2
    assert counts[(("endpoint", "/health"), get, ("status", "200"))] == 1
    assert counts[(("endpoint", UNMATCHED), get, ("status", "404"))] == 1
    assert durations[(("endpoint", "/"), get)] == 4
    assert not any("/no/such" in value for key in counts for _, value in key)


def test_metrics_endpoint_is_prometheus_text() -> None:
    with serve() as client:
        client.get("/")
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE http_requests_total counter" in response.text
    assert "# TYPE http_request_duration_seconds histogram" in response.text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HELLO_ERROR_RATE", "lots"),
        ("HELLO_ERROR_RATE", "1.5"),
        ("HELLO_ERROR_RATE", "-0.1"),
        ("HELLO_LATENCY_MS", "fast"),
        ("HELLO_LATENCY_MS", "-5"),
        ("HELLO_START_DELAY", "inf"),
        ("HELLO_FAULT_AFTER", "-1"),
        ("HELLO_NEVER_READY", "maybe"),
    ],
)
def test_bad_knob_is_rejected_with_its_name(name: str, value: str) -> None:
    with pytest.raises(KnobError, match=name):
        create_app({name: value})


@pytest.mark.slow
def test_bad_knob_stops_the_process_at_startup() -> None:
    env = {**os.environ, "HELLO_ERROR_RATE": "often"}
    result = subprocess.run(
        [sys.executable, "-c", "import app.main"],
        cwd=SERVICE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "bad configuration: HELLO_ERROR_RATE='often'" in result.stderr
    assert "Traceback" not in result.stderr
