"""Alerts and targets as the running Prometheus sees them (its HTTP API)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from moai_deploy.errors import MoaiError


class PrometheusQueryError(MoaiError):
    """Prometheus did not answer, or answered something else than its API's shape."""


@dataclass(frozen=True)
class Alert:
    name: str
    state: str  # pending | firing
    labels: dict[str, str]
    value: str
    active_at: str

    def describe(self) -> str:
        version = self.labels.get("version")
        who = f" for {version}" if version else ""
        return f"{self.name}{who} {self.state} (value {self.value}, since {self.active_at})"


def _get(url: str) -> object:
    try:
        response = httpx.get(url, timeout=5)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise PrometheusQueryError(f"Prometheus at {url} did not answer: {exc}") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        raise PrometheusQueryError(f"Prometheus at {url} answered {str(body)[:200]}")
    return body.get("data")


def alerts(prometheus: str, service: str, environment: str) -> list[Alert]:
    """Pending and firing alerts of one service's environment."""
    data = _get(f"{prometheus}/api/v1/alerts")
    items = data.get("alerts", []) if isinstance(data, dict) else []
    found = []
    for item in items:
        labels = {str(k): str(v) for k, v in item.get("labels", {}).items()}
        if labels.get("service") == service and labels.get("environment") == environment:
            found.append(
                Alert(
                    name=labels.get("alertname", "?"),
                    state=str(item.get("state")),
                    labels=labels,
                    value=str(item.get("value", "")),
                    active_at=str(item.get("activeAt", "")),
                )
            )
    return sorted(found, key=lambda a: (a.name, a.labels.get("version", "")))


def target_health(prometheus: str) -> dict[str, int]:
    """How many active scrape targets are up / down / unknown."""
    data = _get(f"{prometheus}/api/v1/targets?state=active")
    counts = {"up": 0, "down": 0, "unknown": 0}
    targets = data.get("activeTargets", []) if isinstance(data, dict) else []
    for target in targets:
        health = str(target.get("health", "unknown"))
        counts[health if health in counts else "unknown"] += 1
    return counts
