"""LoadReport arithmetic on hand-made samples: outcomes, percentiles, time windows, rendering."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from moai_deploy.observe.load import NO_VERSION, LoadReport, RequestSample
from moai_deploy.observe.summary import render_summary


def ok(start: float, latency: float = 0.01, version: str | None = "1.0.0") -> RequestSample:
    return RequestSample(start=start, latency=latency, status=200, version=version)


def refused(start: float) -> RequestSample:
    return RequestSample(start=start, latency=0.001, status=None, error="ConnectError")


def test_only_2xx_responses_count_as_ok() -> None:
    outcomes = [200, 204, 299, 301, 404, 500, 502]
    report = LoadReport([RequestSample(0.0, 0.01, status) for status in outcomes], 1.0)
    report.samples.append(refused(0.5))
    assert (report.total, report.ok, report.failed) == (8, 3, 5)
    assert [s.failed for s in report.samples[:3]] == [False, False, False]


def test_percentiles_use_nearest_rank_over_all_requests() -> None:
    latencies = [n / 1000 for n in range(100, 0, -1)]  # 1..100 ms, unsorted
    samples = [ok(i * 0.01, latency) for i, latency in enumerate(latencies)]
    samples[0] = RequestSample(0.0, 0.100, 500)  # failed requests count too
    report = LoadReport(samples, 1.0)
    assert report.p50 == pytest.approx(0.050)
    assert report.p99 == pytest.approx(0.099)
    assert report.percentile(100) == pytest.approx(0.100)
    assert report.percentile(0) == pytest.approx(0.001)
    assert report.percentile(90) == pytest.approx(0.090)


def test_empty_report_has_zero_latency_and_no_timeline() -> None:
    report = LoadReport([], 0.0)
    assert (report.total, report.failed, report.p50, report.p99) == (0, 0, 0.0, 0.0)
    assert report.versions_timeline() == []
    assert report.to_dict()["rps"] == 0.0


def test_percentile_outside_0_100_is_refused() -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        LoadReport([ok(0.0)], 1.0).percentile(101)


def test_versions_timeline_counts_responses_per_bucket_including_gaps() -> None:
    samples = [
        ok(0.1),
        ok(0.9),
        ok(1.5),
        ok(1.6, version="2.0.0"),
        RequestSample(2.2, 0.01, 502),  # a proxy's answer: no version header
        refused(2.5),  # no response at all: not in the timeline
        ok(4.2, version="2.0.0"),
    ]
    report = LoadReport(samples, 5.0)
    assert report.versions_timeline() == [
        (0.0, {"1.0.0": 2}),
        (1.0, {"1.0.0": 1, "2.0.0": 1}),
        (2.0, {NO_VERSION: 1}),
        (3.0, {}),
        (4.0, {"2.0.0": 1}),
    ]
    assert report.versions_timeline(bucket=2.5) == [
        (0.0, {"1.0.0": 3, "2.0.0": 1, NO_VERSION: 1}),
        (2.5, {"2.0.0": 1}),
    ]


def test_versions_timeline_rejects_empty_buckets() -> None:
    with pytest.raises(ValueError, match="bucket"):
        LoadReport([ok(0.0)], 1.0).versions_timeline(bucket=0)


def test_window_queries_use_half_open_intervals() -> None:
    samples = [
        ok(0.5, latency=0.010),
        refused(1.0),
        RequestSample(1.5, 0.200, 503),
        ok(1.9, latency=0.300),
        refused(2.0),
        ok(3.0, latency=0.020),
    ]
    report = LoadReport(samples, 4.0)
    assert report.failures_between(1.0, 2.0) == 2  # 1.0 in, 2.0 out
    assert report.failures_between(0.0, 1.0) == 0
    assert report.failures_between(0.0, 10.0) == 3
    assert report.latency_percentile_between(1.5, 2.0, 50) == pytest.approx(0.200)
    assert report.latency_percentile_between(1.5, 2.0, 99) == pytest.approx(0.300)
    assert report.latency_percentile_between(2.5, 4.0, 99) == pytest.approx(0.020)
    assert report.latency_percentile_between(5.0, 6.0, 99) == 0.0


def test_to_dict_summarises_counts_latency_versions_and_errors() -> None:
    samples = [ok(0.1, 0.004), ok(0.2, 0.006, "2.0.0"), RequestSample(0.3, 0.008, 500, None)]
    samples.append(refused(0.4))
    summary = LoadReport(samples, 2.0).to_dict()
    assert summary == {
        "requests": 4,
        "failed": 2,
        "ok": 2,
        "duration_s": 2.0,
        "rps": 2.0,
        "p50_ms": 4.0,
        "p99_ms": 8.0,
        "versions": {"1.0.0": 1, "2.0.0": 1, NO_VERSION: 1},
        "errors": {"ConnectError": 1, "HTTP 500": 1},
    }


def test_render_summary_shows_totals_and_one_row_per_version_mix() -> None:
    samples = [ok(t / 10) for t in range(30)]  # 0-3 s: v1 only
    samples += [ok(3.1), ok(3.2, version="2.0.0"), refused(3.3)]  # 3-4 s: switching
    samples += [ok(4 + t / 10, version="2.0.0") for t in range(20)]  # 4-6 s: v2 only
    console = Console(record=True, width=100)
    render_summary(LoadReport(samples, 6.0), console, "Blue-green switch")
    text = console.export_text()
    assert "Blue-green switch" in text
    cells = [line.replace("│", " ").split() for line in text.splitlines()]
    assert next(c for c in cells if c and c[0] == "53")[:3] == ["53", "1", "52"]
    assert [c for c in cells if c and re.fullmatch(r"\d+-\d+", c[0])] == [
        ["0-3", "30", "0", "0"],
        ["3-4", "1", "1", "1"],
        ["4-6", "0", "20", "0"],
    ]
