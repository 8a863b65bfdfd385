"""The HAProxy metric provider over a request log of the shape HAProxy writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moai_deploy.analysis.base import MeasureTarget
from moai_deploy.analysis.haproxy import HaproxyMetricProvider, RequestLog
from moai_deploy.spec.analysis import MetricSpec

NOW = 1_800_000_000.0


def _line(at: float, version: str, status: int = 200, ms: int = 3) -> str:
    entry = {"at": round(at, 3), "server": "demo.s1", "version": version, "status": status}
    entry["ms"] = ms
    return json.dumps(entry, separators=(",", ":")) + "\n"


def _write(log: Path, lines: list[str]) -> None:
    with log.open("a") as handle:
        handle.writelines(lines)


CANARY, STABLE = "hello-demo-green", "hello-demo-blue"


def _traffic(start: float, seconds: int, canary_error_every: int = 0) -> list[str]:
    lines = []
    for i in range(seconds * 10):
        at = start + i / 10
        failing = canary_error_every and i % canary_error_every == 0
        lines.append(_line(at, CANARY, 500 if failing else 200, 10 + i % 10))
        lines.append(_line(at, STABLE, 200, 5))
    return lines


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "access.log"
    path.write_text(_line(NOW - 3600, CANARY, 500))  # before: not seen
    return path


def _metric(**provider: object) -> MetricSpec:
    data = {"name": "m", "provider": provider, "success_condition": "result >= 0"}
    return MetricSpec.model_validate(data)


def test_windows_count_each_versions_requests_errors_and_latency(log: Path) -> None:
    clock = [NOW - 0.5]
    provider = HaproxyMetricProvider(log, clock=lambda: clock[0])
    target = MeasureTarget(CANARY, STABLE)
    provider.begin(target)
    _write(log, _traffic(NOW, 10, canary_error_every=5))
    _write(log, ["[WARNING] Server demo/x is DOWN\n", _line(NOW + 1, "-", 503)])
    clock[0] = NOW + 10.0

    success = provider.measure(_metric(measure="success_rate"), target, 11.0)
    assert success.value == pytest.approx(0.8) and success.samples == 100
    assert success.stable_samples == 100
    errors = provider.measure(_metric(measure="error_rate"), target, 11.0)
    assert errors.value == pytest.approx(0.2)
    delta = provider.measure(_metric(measure="error_rate_delta"), target, 11.0)
    assert delta.value == pytest.approx(0.2)
    p90 = provider.measure(_metric(measure="latency", quantile=0.9), target, 11.0)
    assert p90.value == pytest.approx(0.018)
    rate = provider.measure(_metric(measure="request_rate"), target, 10.0)
    assert rate.value == pytest.approx(10.0, rel=0.02)


def test_a_window_sees_only_its_own_seconds(log: Path) -> None:
    clock = [NOW + 20]
    provider = HaproxyMetricProvider(log, clock=lambda: clock[0])
    _write(log, _traffic(NOW, 10, canary_error_every=1))  # all canary requests failed...
    _write(log, _traffic(NOW + 10, 10))  # ...then none did
    target = MeasureTarget(CANARY)
    assert provider.measure(_metric(), target, 5.0).value == 1.0
    assert provider.measure(_metric(), target, 20.0).value == pytest.approx(0.5, abs=0.01)


def test_no_requests_is_no_value_and_delta_needs_a_stable(log: Path) -> None:
    provider = HaproxyMetricProvider(log, clock=lambda: NOW)
    provider.begin(MeasureTarget(CANARY))
    empty = provider.measure(_metric(), MeasureTarget(CANARY), 5.0)
    assert empty.value is None and empty.error is None
    delta = provider.measure(_metric(measure="error_rate_delta"), MeasureTarget(CANARY), 5.0)
    assert delta.error is not None


def test_a_prometheus_metric_is_not_measured_here(log: Path) -> None:
    provider = HaproxyMetricProvider(log, clock=lambda: NOW)
    metric = _metric(type="prometheus", address="http://127.0.0.1:9090", query="up")
    assert "prometheus" in (provider.measure(metric, MeasureTarget(CANARY), 5.0).error or "")


def test_samples_for_the_judge_and_a_partial_line_waits(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    source = RequestLog(path)  # the file does not exist yet
    assert source.samples(CANARY, 0, NOW * 2) == []
    _write(path, [_line(NOW, CANARY, 502, 40), '{"at": 1'])
    samples = source.samples(CANARY, NOW - 1, NOW + 1)
    assert [(s.status, s.duration) for s in samples] == [(502, 0.04)]
    path.write_text("")  # rotated
    assert source.samples(CANARY, 0, NOW * 2) == []
