"""Pure builders for Traefik's static and dynamic configuration (no I/O).

Both are rendered as JSON, which is valid YAML, so Traefik reads them from `.yml` files
while we get deterministic output (sorted keys) and a trivial parser for reading back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moai_deploy.traffic.base import Routing, TrafficError, WeightedBackend

API_ENTRYPOINT = "traefik"  # where /ping serves (Traefik's default entrypoint for it)
METRICS_ENTRYPOINT = "metrics"
# The owner's routers to the API and the metrics (behind basic auth): their own dynamic file,
# named so no route's file can be it (route names start with a letter or digit).
OWNER_FILE = "_owner.yml"
API_ROUTER = "_api"
METRICS_ROUTER = "_metrics"
OWNER_AUTH = "_owner-auth"
RESERVED_ENTRYPOINTS = frozenset({API_ENTRYPOINT, METRICS_ENTRYPOINT})
GRACE_TIMEOUT_SECONDS = 10
HEALTH_INTERVAL = "1s"
HEALTH_TIMEOUT = "1s"
THROTTLE = "100ms"
LOG_LEVEL = "WARN"
METRICS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Names become file names and Traefik object names ("@" separates the provider there).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

Config = dict[str, Any]


@dataclass(frozen=True)
class StaticSettings:
    """Everything the static configuration depends on."""

    root: Path
    entrypoints: Mapping[str, int]  # entrypoint name -> port
    host: str
    api_port: int
    metrics_port: int


def _entrypoint(address: str) -> Config:
    # No read/write timeouts: Traefik 3's default 60 s readTimeout would cut slow uploads.
    return {
        "address": address,
        "http": {"aliasHeadersStrategy": "delete"},
        "transport": {
            "lifeCycle": {
                "graceTimeOut": f"{GRACE_TIMEOUT_SECONDS}s",
                "requestAcceptGraceTimeout": "0s",
            },
            "respondingTimeouts": {
                "idleTimeout": "180s",
                "readTimeout": "0s",
                "writeTimeout": "0s",
            },
        },
    }


def check_name(name: str) -> None:
    """Raise TrafficError unless `name` is safe as a Traefik object name and a file name."""
    if not _NAME.match(name):
        raise TrafficError(f"invalid Traefik name {name!r}: use letters, digits, '.', '_', '-'")


def check_entrypoints(entrypoints: Mapping[str, int]) -> None:
    """Raise TrafficError for an unusable entrypoint name or port."""
    for name, port in entrypoints.items():
        check_name(name)
        if name in RESERVED_ENTRYPOINTS:
            raise TrafficError(f"Traefik entrypoint name {name!r} is reserved")
        if not 0 < port < 65536:
            raise TrafficError(f"invalid port {port} for entrypoint {name!r}")


def build_static_config(settings: StaticSettings) -> Config:
    """Traefik's static configuration: entrypoints, API/ping, metrics, logs, file provider."""
    check_entrypoints(settings.entrypoints)
    entrypoints = {
        name: _entrypoint(f"{settings.host}:{port}") for name, port in settings.entrypoints.items()
    }
    # Under supervision the watchdog hands every entrypoint its socket (systemd socket
    # activation, matched by name): these addresses only apply to an unsupervised start.
    entrypoints[API_ENTRYPOINT] = _entrypoint(f"127.0.0.1:{settings.api_port}")
    entrypoints[METRICS_ENTRYPOINT] = _entrypoint(f"127.0.0.1:{settings.metrics_port}")
    root = settings.root
    return {
        "accessLog": {"filePath": str(root / "access.log"), "format": "json"},
        # Not `insecure`: that would serve the API (every backend) to any local user. It is
        # routed through `build_owner_config`'s router instead, as are the metrics.
        "api": {"dashboard": False, "insecure": False},
        "entryPoints": entrypoints,
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "log": {"filePath": str(root / "traefik.log"), "level": LOG_LEVEL},
        "metrics": {
            "prometheus": {
                "addEntryPointsLabels": True,
                "addRoutersLabels": True,
                "addServicesLabels": True,
                "buckets": list(METRICS_BUCKETS),
                "entryPoint": METRICS_ENTRYPOINT,
                "manualRouting": True,
            }
        },
        "ping": {"entryPoint": API_ENTRYPOINT},
        "providers": {
            "file": {"directory": str(root / "dynamic"), "watch": True},
            "providersThrottleDuration": THROTTLE,
        },
    }


def build_owner_config(htpasswd: str) -> Config:
    """The dynamic configuration that serves the API and the metrics to the owner only:
    basic auth (`htpasswd`: "user:{SHA}...", see `traffic.credentials`) on both. /ping stays
    open: it says "OK" and nothing else."""
    auth = {"basicAuth": {"realm": "moai-deploy", "removeHeader": True, "users": [htpasswd]}}
    routers = {
        API_ROUTER: {
            "entryPoints": [API_ENTRYPOINT],
            "middlewares": [OWNER_AUTH],
            "rule": "PathPrefix(`/api`)",
            "service": "api@internal",
        },
        METRICS_ROUTER: {
            "entryPoints": [METRICS_ENTRYPOINT],
            "middlewares": [OWNER_AUTH],
            "rule": "Path(`/metrics`)",
            "service": "prometheus@internal",
        },
    }
    return {"http": {"middlewares": {OWNER_AUTH: auth}, "routers": routers}}


def check_routing(routing: Routing) -> None:
    """Raise TrafficError if Traefik could not (or should not) serve `routing`."""
    names = [b.name for b in routing.backends]
    for name in (routing.route, routing.entrypoint, *names):
        check_name(name)
    if len(set(names)) != len(names) or routing.route in names:
        raise TrafficError(f"route {routing.route!r}: backend names must be unique")
    if any(not 0 <= b.weight <= 100 for b in routing.backends):
        raise TrafficError(f"route {routing.route!r}: weights must be within 0..100")
    if sum(b.weight for b in routing.backends) != 100:
        raise TrafficError(f"route {routing.route!r}: weights must add up to 100")
    if any(not b.urls for b in routing.backends):
        raise TrafficError(f"route {routing.route!r}: every backend needs at least one URL")
    # Traefik renders dynamic files as Go templates: "{{" would be interpreted.
    texts = [routing.health_path, *(u for b in routing.backends for u in b.urls)]
    if not routing.health_path.startswith("/") or any("{{" in t for t in texts):
        raise TrafficError(f"route {routing.route!r}: invalid health path or URL")


def normalized(routing: Routing) -> Routing:
    """`routing` with backends sorted by name: the form `routing_from_dynamic` returns."""
    backends = tuple(sorted(routing.backends, key=lambda b: b.name))
    return Routing(routing.route, routing.entrypoint, backends, routing.health_path)


def _load_balancer(backend: WeightedBackend, health_path: str) -> Config:
    return {
        "loadBalancer": {
            "healthCheck": {
                # A redirect is an answer: the app is alive. Followed, an http -> https
                # redirect (no TLS on the instance's port) would mark a healthy server down.
                "followRedirects": False,
                "interval": HEALTH_INTERVAL,
                "path": health_path,
                "timeout": HEALTH_TIMEOUT,
            },
            "passHostHeader": True,
            "servers": [{"url": url} for url in backend.urls],
        }
    }


def build_dynamic_config(routing: Routing) -> Config:
    """The file-provider configuration for one route: router, weighted and per-backend services."""
    check_routing(routing)
    routing = normalized(routing)
    services: Config = {b.name: _load_balancer(b, routing.health_path) for b in routing.backends}
    # Weight-0 backends stay defined (a switch back needs no new service) but get no traffic.
    weighted = [{"name": b.name, "weight": b.weight} for b in routing.backends if b.weight > 0]
    # `healthCheck: {}` makes the weighted service skip a child whose servers the health
    # check marked down: without it Traefik still sends that child its share, and every one
    # of those requests gets "503 no available server".
    services[routing.route] = {"weighted": {"healthCheck": {}, "services": weighted}}
    router = {
        "entryPoints": [routing.entrypoint],
        "rule": "PathPrefix(`/`)",
        "service": routing.route,
    }
    return {"http": {"routers": {routing.route: router}, "services": services}}


def routing_from_dynamic(route: str, config: Mapping[str, Any]) -> Routing:
    """Read back a configuration made by `build_dynamic_config`; TrafficError if it is not one."""
    try:
        http = config["http"]
        router = http["routers"][route]
        services = http["services"]
        weights = {s["name"]: int(s["weight"]) for s in services[route]["weighted"]["services"]}
        backends: list[WeightedBackend] = []
        health_path = "/ready"
        for name in sorted(services):
            if name == route:
                continue
            balancer = services[name]["loadBalancer"]
            health_path = balancer["healthCheck"]["path"]
            urls = tuple(server["url"] for server in balancer["servers"])
            backends.append(WeightedBackend(name, weights.get(name, 0), urls))
        return Routing(route, router["entryPoints"][0], tuple(backends), health_path)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise TrafficError(f"route {route!r}: unexpected dynamic configuration ({exc!r})") from exc


def render(config: Mapping[str, Any]) -> str:
    """Deterministic text for a configuration (JSON, which Traefik reads as YAML)."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def config_hash(text: str) -> str:
    """Stable fingerprint of a rendered configuration."""
    return hashlib.sha256(text.encode()).hexdigest()
