"""What the event stream's live samples and the dashboard's charts show: per environment,
the router's weights and each version's request rate, success rate and p95 latency."""

from __future__ import annotations

import time
from typing import Any

import httpx

from moai_deploy.ledger.store import Ledger
from moai_deploy.server.hub import Event
from moai_deploy.service import ControlService

WINDOW = 5.0  # seconds of traffic each sample summarises


def versions_by_backend(
    ledger: Ledger, service: str, environment: str, route: str
) -> dict[str, str]:
    """Backend name -> version, from the live and unfinished releases' colour groups."""
    found: dict[str, str] = {}
    releases = [
        ledger.live_release(service, environment),
        *ledger.in_progress(service, environment),
    ]
    for release in releases:
        if release is not None and release.meta.get("group"):
            found[f"{route}-{release.meta['group']}"] = release.version
    return found


class LiveSampler:
    """Called by the event hub about twice a second; one look at the router's metrics."""

    def __init__(self, service: ControlService) -> None:
        self.service = service
        self._providers: dict[str, Any] = {}

    def _stats(self, environment: str, backend: str) -> dict[str, Any] | None:
        if environment not in self._providers:  # each environment has its own router
            self._providers[environment] = self.service.project().traffic_stats(environment)
        try:
            stats = self._providers[environment](backend, WINDOW)
        except (httpx.HTTPError, OSError):
            return None
        if stats is None:
            return None
        p95 = stats.quantile(0.95)
        return {
            "rps": round(stats.request_rate, 2),
            "success_rate": stats.success_rate,
            "p95_ms": round(p95 * 1000, 1) if p95 is not None else None,
        }

    def __call__(self) -> Event | None:
        project = self.service.project()
        sample: Event = {"at": time.time(), "environments": {}}
        for environment in project.loaded.spec.environments:
            route = project.route(environment)
            routing = project.router_for(environment).current(route)
            weights = routing.weights() if routing else {}
            versions = versions_by_backend(project.ledger, project.service, environment, route)
            backends = [
                {
                    "backend": backend,
                    "version": versions.get(backend, backend.rsplit("-", 1)[-1]),
                    "weight": weight,
                    "traffic": (
                        self._stats(environment, backend)
                        if project.router_running(environment)
                        else None
                    ),
                }
                for backend, weight in weights.items()
            ]
            sample["environments"][environment] = backends
        return sample

    def close(self) -> None:
        for provider in self._providers.values():
            owner = getattr(provider, "__self__", None)  # the provider of the bound `stats`
            if owner is not None and hasattr(owner, "close"):
                owner.close()  # e.g. the HTTP pool of the Traefik metrics scraper
