"""Traefik's access log as a sample source, and Prometheus query templating and responses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from moai_deploy.analysis.base import MeasureTarget, RequestSample
from moai_deploy.analysis.prometheus.provider import QueryError, parse_response, render_query
from moai_deploy.analysis.traefik.access_log import AccessLogSamples, parse_utc

T0 = parse_utc("2026-11-28T06:45:07.000000000Z")


def _line(service: str, start: str, duration_ns: int, status: int) -> str:
    # The fields Traefik writes (a subset of a real line, same names and types).
    entry = {
        "ServiceName": service,
        "StartUTC": start,
        "Duration": duration_ns,
        "DownstreamStatus": status,
        "RouterName": "hello-production@file",
        "level": "info",
    }
    return json.dumps(entry) + "\n"


def test_parse_utc_keeps_nanosecond_fractions() -> None:
    assert parse_utc("2026-11-28T06:45:07.485707511Z") - T0 == pytest.approx(0.485707511)
    assert parse_utc("2026-11-28T06:45:07Z") == T0
    assert parse_utc("2026-11-28T07:45:07.5+01:00") == T0 + 0.5


def test_access_log_samples_per_backend_and_window_read_incrementally(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(_line("hello-production-green@file", "2026-11-28T06:45:00Z", 1, 200))
    source = AccessLogSamples(log)  # starts at the end: the old line is not seen
    with log.open("a") as handle:
        handle.write(
            _line("hello-production-green@file", "2026-11-28T06:45:07.25Z", 800_000_000, 500)
        )
        handle.write(_line("hello-production-blue@file", "2026-11-28T06:45:07.5Z", 2_000_000, 200))
        handle.write('{"ClientAddr": "127.0.0.1", "DownstreamStatus": 404}\n')  # no route matched
        handle.write("not json\n")
        handle.write(
            _line("hello-production-green@file", "2026-11-28T06:45:09Z", 1_000_000, 200)[:30]
        )
    green = source.samples("hello-production-green", T0, T0 + 10)
    assert green == [RequestSample(T0 + 0.25, 0.8, 500)]
    assert source.samples("hello-production-blue", T0, T0 + 10) == [
        RequestSample(T0 + 0.5, 0.002, 200)
    ]
    assert source.samples("hello-production-blue", T0 + 0.6, T0 + 10) == []
    with log.open("a") as handle:  # the half-written line is completed later
        handle.write(
            _line("hello-production-green@file", "2026-11-28T06:45:09Z", 1_000_000, 200)[30:]
        )
    assert [s.status for s in source.samples("hello-production-green", T0, T0 + 10)] == [500, 200]
    whole = AccessLogSamples(log, from_start=True)
    assert len(whole.samples("hello-production-green", 0, T0 + 10)) == 3


def test_access_log_starts_over_after_truncation(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    source = AccessLogSamples(log)  # the file does not exist yet
    assert source.samples("a", 0, T0 + 100) == []
    log.write_text(_line("a@file", "2026-11-28T06:45:07Z", 1, 200) * 3)
    assert len(source.samples("a", 0, T0 + 100)) == 3
    log.write_text(_line("a@file", "2026-11-28T06:45:08Z", 1, 503))
    assert [s.status for s in source.samples("a", 0, T0 + 100)] == [503]


TARGET = MeasureTarget("hello-production-green", "hello-production-blue")


def test_queries_are_templated_with_backend_names_and_window() -> None:
    query = 'sum(rate(traefik_service_requests_total{service="{{canary}}@file"}[{{window}}]))'
    assert render_query(query, TARGET, 29.6) == (
        'sum(rate(traefik_service_requests_total{service="hello-production-green@file"}[30s]))'
    )
    assert "hello-production-blue@file" in render_query('x{service="{{stable}}@file"}', TARGET, 1)
    assert render_query("x[{{window}}]", TARGET, 0.2) == "x[1s]"
    with pytest.raises(QueryError, match="no stable version"):
        render_query("{{stable}}", MeasureTarget("a"), 1)


# Response bodies in the exact shape of Prometheus's /api/v1/query (see its HTTP API docs).
@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {
                "status": "success",
                "data": {
                    "resultType": "vector",
                    "result": [{"metric": {}, "value": [1.7e9, "0.97"]}],
                },
            },
            0.97,
        ),
        ({"status": "success", "data": {"resultType": "scalar", "result": [1.7e9, "2"]}}, 2.0),
        ({"status": "success", "data": {"resultType": "vector", "result": []}}, None),
        (
            {
                "status": "success",
                "data": {
                    "resultType": "vector",
                    "result": [{"metric": {}, "value": [1.7e9, "NaN"]}],
                },
            },
            None,
        ),
        (
            {
                "status": "success",
                "data": {
                    "resultType": "vector",
                    "result": [{"metric": {}, "value": [1.7e9, "+Inf"]}],
                },
            },
            float("inf"),
        ),
    ],
)
def test_instant_query_responses_give_one_number(
    payload: dict[str, Any], expected: float | None
) -> None:
    assert parse_response(payload) == expected


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        (
            {"status": "error", "errorType": "bad_data", "error": "parse error"},
            "bad_data: parse error",
        ),
        ({"status": "success", "data": {"resultType": "matrix", "result": []}}, "vector or scalar"),
        (
            {
                "status": "success",
                "data": {
                    "resultType": "vector",
                    "result": [{"value": [1, "1"]}, {"value": [1, "2"]}],
                },
            },
            "2 series; aggregate",
        ),
        (
            {
                "status": "success",
                "data": {"resultType": "vector", "result": [{"value": [1, "x"]}]},
            },
            "unexpected sample",
        ),
        (["not", "an", "object"], "not a JSON object"),
    ],
)
def test_unusable_responses_are_errors(payload: Any, complaint: str) -> None:
    with pytest.raises(QueryError, match=complaint):
        parse_response(payload)
