"""TrafficRouter on Traefik's file provider: one dynamic file per route, confirmed via the API."""

from __future__ import annotations

import contextlib
import errno
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moai_deploy.traffic.base import Routing, TrafficError
from moai_deploy.traffic.traefik.config import (
    build_dynamic_config,
    check_name,
    check_routing,
    render,
    routing_from_dynamic,
)
from moai_deploy.traffic.traefik.process import TraefikProcess, atomic_write

if TYPE_CHECKING:  # imported where used: `status` reads routings without it (CLI start-up)
    import httpx

_POLL_INTERVAL = 0.02
# Traefik swaps the API's handler and each entrypoint's handler one after the other, so the
# API can show a new configuration a moment before the service entrypoint serves it.
_SWITCH_SETTLE = 0.05


def _get(client: httpx.Client, path: str) -> dict[str, Any] | None:
    """GET a Traefik API object; None when Traefik does not know it (404)."""
    response = client.get(path)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def _router_diffs(client: httpx.Client, routing: Routing) -> list[str]:
    router = _get(client, f"/api/http/routers/{routing.route}@file")
    if router is None:
        return [f"router {routing.route!r} not loaded"]
    diffs = []
    if router.get("status") != "enabled":
        diffs.append(f"router {routing.route!r} is {router.get('status')}: {router.get('error')}")
    if router.get("service") != routing.route:
        diffs.append(f"router {routing.route!r} uses service {router.get('service')!r}")
    if router.get("entryPoints") != [routing.entrypoint]:
        diffs.append(f"router {routing.route!r} on entrypoints {router.get('entryPoints')}")
    return diffs


def _weighted_diffs(client: httpx.Client, routing: Routing) -> list[str]:
    service = _get(client, f"/api/http/services/{routing.route}@file")
    if service is None:
        return [f"service {routing.route!r} not loaded"]
    listed = service.get("weighted", {}).get("services") or []
    actual = {s.get("name"): s.get("weight") for s in listed}
    expected = {b.name: b.weight for b in routing.backends if b.weight > 0}
    if actual != expected:
        return [f"weights of {routing.route!r} are {actual}, expected {expected}"]
    return []


def _backend_diffs(client: httpx.Client, routing: Routing) -> list[str]:
    diffs = []
    for backend in routing.backends:
        service = _get(client, f"/api/http/services/{backend.name}@file")
        if service is None:
            diffs.append(f"service {backend.name!r} not loaded")
            continue
        servers = service.get("loadBalancer", {}).get("servers") or []
        urls = sorted(s.get("url") for s in servers)
        if urls != sorted(backend.urls):
            diffs.append(f"servers of {backend.name!r} are {urls}, expected {sorted(backend.urls)}")
    return diffs


class TraefikRouter:
    """Applies routings by writing `dynamic/<route>.yml` for the given Traefik process.

    The process must be running (`TraefikProcess.ensure_running`) for `verify` and `remove`.
    """

    def __init__(self, process: TraefikProcess) -> None:
        self._process = process
        self._client: httpx.Client | None = None

    def _file(self, route: str) -> Path:
        check_name(route)  # the route becomes a file name: no "/" or ".." may slip through
        return self._process.dynamic_dir / f"{route}.yml"

    def set_weights(self, routing: Routing) -> None:
        """Replace the route's routing with `routing`, atomically."""
        text = render(build_dynamic_config(routing))
        self._process.dynamic_dir.mkdir(parents=True, exist_ok=True)
        try:
            atomic_write(self._file(routing.route), text)
        except OSError as exc:
            if exc.errno != errno.ENOSPC or not self._process.make_room():
                raise
            # A full disk must not keep traffic on a bad version: our logs made the room.
            atomic_write(self._file(routing.route), text)

    def verify(self, routing: Routing, timeout: float = 10.0) -> None:
        """Return once Traefik serves exactly `routing`; raise TrafficError after timeout."""
        check_routing(routing)
        deadline = time.monotonic() + timeout
        # Every generation (the serving one and its warm standby) must serve it: the standby
        # takes over the moment the serving one dies.
        for api_url in [self._process.api_url, *self._process.api_urls()[1:]]:
            with self._api_client(api_url, 2.0) as client:
                self._await(client, routing, deadline, timeout)
        time.sleep(_SWITCH_SETTLE)

    def _await(
        self, client: httpx.Client, routing: Routing, deadline: float, timeout: float
    ) -> None:
        while True:
            diffs = self._differences(client, routing)
            if not diffs:
                return
            if time.monotonic() >= deadline:
                raise TrafficError(
                    f"Traefik does not serve the expected routing of {routing.route!r} "
                    f"after {timeout:.1f}s: "
                    + "; ".join(diffs)
                    + f" (see {self._process.log_file})"
                )
            time.sleep(_POLL_INTERVAL)

    @staticmethod
    def _differences(client: httpx.Client, routing: Routing) -> list[str]:
        import httpx

        try:
            return [
                *_router_diffs(client, routing),
                *_weighted_diffs(client, routing),
                *_backend_diffs(client, routing),
            ]
        except (httpx.HTTPError, ValueError) as exc:
            return [f"Traefik API error: {exc!r}"]

    def servers_down(self, backend: str) -> list[str] | None:
        """URLs of `backend` Traefik's health check marked DOWN (None if Traefik cannot say)."""
        import httpx

        try:
            service = _get(self._health_client(), f"/api/http/services/{backend}@file")
        except (httpx.HTTPError, ValueError):
            self._client = None  # e.g. Traefik restarted on another API port
            return None
        if service is None:
            return None
        status = service.get("serverStatus") or {}
        return sorted(url for url, state in status.items() if state == "DOWN")

    def _health_client(self) -> httpx.Client:
        # One client for the frequent health looks: a new one loads the CA bundle each time.
        if self._client is None:
            self._client = self._api_client(self._process.api_url, 1.0)
        return self._client

    def _api_client(self, api_url: str, timeout: float) -> httpx.Client:
        """A client of Traefik's API: only the owner's credentials get past its 401."""
        import httpx

        return httpx.Client(
            base_url=api_url, timeout=timeout, auth=self._process.metrics_credentials()
        )

    def current(self, route: str) -> Routing | None:
        """The routing last applied for `route` (backends sorted by name), or None."""
        try:
            text = self._file(route).read_text()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise TrafficError(f"cannot read {self._file(route)}: {exc}") from exc
        return routing_from_dynamic(route, data)

    def remove(self, route: str, timeout: float = 10.0) -> None:
        """Stop routing `route`: delete its file and wait until Traefik dropped the router."""
        self._file(route).unlink(missing_ok=True)
        if not self._process.is_running():
            return  # nothing serves the route; a later start will not load the file
        import httpx

        deadline = time.monotonic() + timeout
        path = f"/api/http/routers/{route}@file"
        for api_url in self._process.api_urls():
            with self._api_client(api_url, 2.0) as client:
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(path).status_code == 404:
                            break
                    if time.monotonic() >= deadline:
                        raise TrafficError(f"Traefik still routes {route!r} after {timeout:.1f}s")
                    time.sleep(_POLL_INTERVAL)
