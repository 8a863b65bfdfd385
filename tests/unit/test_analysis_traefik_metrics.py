"""Histogram quantiles (PromQL's math) and Traefik counter deltas between scrapes."""

from __future__ import annotations

import math

import pytest

from moai_deploy.analysis.histogram import histogram_quantile
from moai_deploy.analysis.traefik.scrape import (
    ScrapeHistory,
    parse_scrape,
    service_label,
    window_stats,
)

INF = math.inf
BOUNDS = (0.1, 0.25, 0.5, 1.0, INF)


def test_quantile_interpolates_linearly_inside_the_bucket() -> None:
    buckets = {0.1: 50.0, 0.25: 90.0, 0.5: 100.0, INF: 100.0}
    # rank 95 lies halfway through (0.25, 0.5], which holds ranks 90..100
    assert histogram_quantile(0.95, buckets) == pytest.approx(0.375)
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    # the first bucket starts at 0: rank 25 of 50 -> halfway to 0.1
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.05)


def test_quantile_in_the_inf_bucket_is_the_highest_finite_bound() -> None:
    buckets = {0.1: 10.0, 0.5: 20.0, INF: 100.0}
    assert histogram_quantile(0.95, buckets) == 0.5


def test_quantile_without_observations_or_inf_bucket_is_none() -> None:
    assert histogram_quantile(0.95, {0.1: 0.0, INF: 0.0}) is None
    assert histogram_quantile(0.95, {0.1: 3.0, 0.5: 4.0}) is None
    assert histogram_quantile(0.95, {}) is None


def test_quantile_repairs_non_monotonic_buckets_like_promql() -> None:
    # a non-atomic scrape: a later bucket lagging behind counts as the earlier one's value
    assert histogram_quantile(0.5, {0.1: 10.0, 0.25: 8.0, 0.5: 20.0, INF: 20.0}) == pytest.approx(
        0.1
    )


def test_quantile_rejects_out_of_range_q() -> None:
    with pytest.raises(ValueError, match="within"):
        histogram_quantile(1.0, {INF: 1.0})


def _exposition(services: dict[str, tuple[dict[str, int], tuple[int, ...]]]) -> str:
    """Text as Traefik exposes it: requests by code, cumulative duration buckets."""
    lines = [
        "# HELP traefik_service_requests_total How many HTTP requests processed on a service.",
        "# TYPE traefik_service_requests_total counter",
    ]
    for service, (codes, _) in services.items():
        for code, count in codes.items():
            labels = f'code="{code}",method="GET",protocol="http",service="{service}"'
            lines.append(f"traefik_service_requests_total{{{labels}}} {count}")
    lines += [
        "# HELP traefik_service_request_duration_seconds How long requests took.",
        "# TYPE traefik_service_request_duration_seconds histogram",
    ]
    for service, (_codes, cumulative) in services.items():
        labels = f'code="200",method="GET",protocol="http",service="{service}"'
        for bound, count in zip(BOUNDS, cumulative, strict=True):
            le = "+Inf" if bound == INF else str(bound)
            lines.append(
                f'traefik_service_request_duration_seconds_bucket{{{labels},le="{le}"}} {count}'
            )
        lines.append(f"traefik_service_request_duration_seconds_count{{{labels}}} {cumulative[-1]}")
        lines.append(f"traefik_service_request_duration_seconds_sum{{{labels}}} 1.5")
    lines.append('traefik_entrypoint_requests_total{code="200",entrypoint="web"} 999')
    return "\n".join(lines) + "\n"


GREEN, BLUE = "hello-production-green", "hello-production-blue"


def test_window_is_the_counter_delta_per_version() -> None:
    before = parse_scrape(
        _exposition(
            {
                service_label(GREEN): ({"200": 100, "500": 5}, (80, 100, 105, 105, 105)),
                service_label(BLUE): ({"200": 1000}, (1000, 1000, 1000, 1000, 1000)),
            }
        ),
        at=10.0,
    )
    after = parse_scrape(
        _exposition(
            {
                service_label(GREEN): ({"200": 170, "500": 35, "404": 5}, (80, 100, 135, 205, 210)),
                service_label(BLUE): ({"200": 1090, "502": 10}, (1100, 1100, 1100, 1100, 1100)),
            }
        ),
        at=40.0,
    )
    green = window_stats(after, before, GREEN)
    # 70 more 200s, 30 more 500s, 5 new 404s: 105 requests, 30 of them 5xx
    assert (green.requests, green.errors, green.seconds) == (105, 30, 30.0)
    assert green.success_rate == pytest.approx(75 / 105)
    assert green.error_rate == pytest.approx(30 / 105)
    assert green.request_rate == pytest.approx(3.5)
    # all 105 new observations fell into (0.25, 1.0]: 30 in (0.25,0.5], 70 in (0.5,1.0]
    # rank 0.95*105 = 99.75 -> 0.5 + 0.5 * (99.75 - 30) / 70
    assert green.quantile(0.95) == pytest.approx(0.5 + 0.5 * 69.75 / 70)
    blue = window_stats(after, before, BLUE)
    assert (blue.requests, blue.errors) == (100, 10)


def test_an_idle_or_unknown_version_has_no_rate() -> None:
    text = _exposition({service_label(GREEN): ({"200": 5}, (5, 5, 5, 5, 5))})
    stats = window_stats(parse_scrape(text, 2.0), parse_scrape(text, 1.0), GREEN)
    assert stats.requests == 0 and stats.success_rate is None and stats.quantile(0.95) is None
    unknown = window_stats(parse_scrape(text, 2.0), parse_scrape(text, 1.0), "nope")
    assert unknown.requests == 0 and unknown.error_rate is None


def test_a_counter_reset_counts_from_zero() -> None:
    before = parse_scrape(_exposition({service_label(GREEN): ({"200": 500}, (500,) * 5)}), 1.0)
    after = parse_scrape(_exposition({service_label(GREEN): ({"200": 20}, (20,) * 5)}), 2.0)
    assert window_stats(after, before, GREEN).requests == 20


def test_history_picks_the_scrape_nearest_the_window_start() -> None:
    history = ScrapeHistory()
    scrapes = [parse_scrape("", at) for at in (0.0, 1.0, 2.02, 3.0, 4.0)]
    for scrape in scrapes:
        history.add(scrape)
    latest = scrapes[-1]
    assert history.baseline(latest, 2.0) is scrapes[2]  # 2.02 is nearest to 4 - 2
    assert history.baseline(latest, 30.0) is scrapes[0]  # older than all: the oldest
    assert history.baseline(scrapes[0], 1.0) is None  # nothing before the first


def test_history_forgets_scrapes_no_window_needs() -> None:
    history = ScrapeHistory(keep_seconds=5.0)
    for at in range(100):
        history.add(parse_scrape("", float(at)))
    latest = history.latest()
    assert latest is not None
    baseline = history.baseline(latest, 1.0)
    assert baseline is not None and baseline.at == 98.0
    oldest = history.baseline(latest, 1000.0)
    assert oldest is not None and oldest.at >= 99.0 - 6.0
