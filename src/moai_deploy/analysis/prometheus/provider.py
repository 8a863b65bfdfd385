"""MetricProvider on a Prometheus server: one instant PromQL query per measurement."""

from __future__ import annotations

import math
import time
from typing import Any

import httpx

from moai_deploy.analysis.base import Measurement, MeasureTarget
from moai_deploy.spec.analysis import MetricSpec, PrometheusProvider


class QueryError(Exception):
    """Prometheus could not answer the query with one number."""


def render_query(query: str, target: MeasureTarget, window: float) -> str:
    """Fill {{canary}}, {{stable}} and {{window}} (whole seconds, e.g. '30s') into `query`."""
    if "{{stable}}" in query and target.stable is None:
        raise QueryError("the query uses {{stable}} but there is no stable version")
    text = query.replace("{{canary}}", target.canary).replace("{{stable}}", target.stable or "")
    return text.replace("{{window}}", f"{max(1, round(window))}s")


def parse_response(payload: Any) -> float | None:
    """The single value of an instant-query response; None for no series or NaN."""
    if not isinstance(payload, dict):
        raise QueryError("the response is not a JSON object")
    if payload.get("status") != "success":
        raise QueryError(f"{payload.get('errorType', 'error')}: {payload.get('error', payload)}")
    data = payload.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        return _number(result)
    if kind != "vector" or not isinstance(result, list):
        raise QueryError(f"expected a vector or scalar result, got {kind!r}")
    if not result:
        return None  # no series: no requests in the window, or no such backend yet
    if len(result) > 1:
        raise QueryError(f"the query returned {len(result)} series; aggregate it to one")
    return _number(result[0].get("value"))


def _number(pair: Any) -> float | None:
    try:
        value = float(pair[1])  # [timestamp, "value"]; Prometheus sends numbers as strings
    except (TypeError, ValueError, IndexError) as exc:
        raise QueryError(f"unexpected sample {pair!r}") from exc
    return None if math.isnan(value) else value


class PrometheusMetricProvider:
    """Queries `/api/v1/query` of each metric's `address` with its templated PromQL."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client()

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    def begin(self, target: MeasureTarget) -> None:
        """Nothing to do: Prometheus keeps the history itself."""

    def measure(self, metric: MetricSpec, target: MeasureTarget, window: float) -> Measurement:
        """Run the metric's query now; the value is the query's single number."""
        spec = metric.provider
        at = time.time()
        if not isinstance(spec, PrometheusProvider):
            return Measurement(None, at, error=f"metric {metric.name!r} is not a prometheus metric")
        url = spec.address.rstrip("/") + "/api/v1/query"
        try:
            query = render_query(spec.query, target, window)
            response = self._client.get(url, params={"query": query}, timeout=spec.timeout)
            value = parse_response(_json(response))
        except (QueryError, httpx.HTTPError) as exc:
            return Measurement(None, at, error=f"prometheus {url}: {exc}")
        return Measurement(value, at)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()  # errors come as JSON too, with HTTP 400/422/503
    except ValueError as exc:
        raise QueryError(f"HTTP {response.status_code}, not JSON") from exc
