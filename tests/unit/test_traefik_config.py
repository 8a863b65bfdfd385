"""Pure Traefik configuration builders: structure, determinism, validation, read-back."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from moai_deploy.traffic.base import Routing, TrafficError, WeightedBackend
from moai_deploy.traffic.credentials import htpasswd_line
from moai_deploy.traffic.traefik.config import (
    API_ROUTER,
    METRICS_ROUTER,
    OWNER_AUTH,
    OWNER_FILE,
    StaticSettings,
    build_dynamic_config,
    build_owner_config,
    build_static_config,
    check_name,
    config_hash,
    normalized,
    render,
    routing_from_dynamic,
)

BLUE = WeightedBackend("hello-production-blue", 0, ("http://127.0.0.1:4001",))
GREEN = WeightedBackend(
    "hello-production-green", 100, ("http://127.0.0.1:4002", "http://127.0.0.1:4003")
)


def _routing(*backends: WeightedBackend, health: str = "/ready") -> Routing:
    return Routing("hello-production", "production", backends, health)


def test_dynamic_config_has_router_weighted_and_per_backend_services() -> None:
    config = build_dynamic_config(_routing(BLUE, GREEN))
    router = config["http"]["routers"]["hello-production"]
    assert router == {
        "entryPoints": ["production"],
        "rule": "PathPrefix(`/`)",
        "service": "hello-production",
    }
    services = config["http"]["services"]
    # Weight 0 keeps its load balancer (instant switch back) but is not in the weighted list.
    # healthCheck: {} lets the weighted service skip a child its health check marked down.
    assert services["hello-production"] == {
        "weighted": {
            "healthCheck": {},
            "services": [{"name": "hello-production-green", "weight": 100}],
        }
    }
    green = services["hello-production-green"]["loadBalancer"]
    assert green["servers"] == [{"url": "http://127.0.0.1:4002"}, {"url": "http://127.0.0.1:4003"}]
    assert green["passHostHeader"] is True
    assert green["healthCheck"]["path"] == "/ready"
    assert green["healthCheck"]["followRedirects"] is False  # a redirect is an answer
    assert services["hello-production-blue"]["loadBalancer"]["servers"] == [
        {"url": "http://127.0.0.1:4001"}
    ]


def test_dynamic_config_is_deterministic_whatever_the_backend_order() -> None:
    canary_a = WeightedBackend("a", 90, ("http://127.0.0.1:1",))
    canary_b = WeightedBackend("b", 10, ("http://127.0.0.1:2",))
    first = render(build_dynamic_config(_routing(canary_a, canary_b)))
    second = render(build_dynamic_config(_routing(canary_b, canary_a)))
    assert first == second
    assert config_hash(first) == config_hash(second)
    assert json.loads(first)["http"]["services"]["hello-production"]["weighted"]["services"] == [
        {"name": "a", "weight": 90},
        {"name": "b", "weight": 10},
    ]


def test_routing_reads_back_from_its_dynamic_config() -> None:
    routing = _routing(GREEN, BLUE, health="/healthz")
    config = json.loads(render(build_dynamic_config(routing)))
    assert routing_from_dynamic("hello-production", config) == normalized(routing)


def test_reading_back_a_foreign_config_is_a_traffic_error() -> None:
    with pytest.raises(TrafficError, match="unexpected dynamic configuration"):
        routing_from_dynamic("hello-production", {"http": {"routers": {}}})


@pytest.mark.parametrize(
    ("backends", "health", "message"),
    [
        ((WeightedBackend("x", 50, ("http://127.0.0.1:1",)),), "/ready", "add up to 100"),
        ((WeightedBackend("x", 101, ("http://127.0.0.1:1",)),), "/ready", "0..100"),
        ((WeightedBackend("x/y", 100, ("http://127.0.0.1:1",)),), "/ready", "invalid Traefik"),
        ((WeightedBackend("x", 100, ()),), "/ready", "at least one URL"),
        ((WeightedBackend("x", 100, ("http://127.0.0.1:1",)),), "/{{ .X }}", "health path"),
        (
            (
                WeightedBackend("x", 50, ("http://127.0.0.1:1",)),
                WeightedBackend("x", 50, ("http://127.0.0.1:2",)),
            ),
            "/ready",
            "unique",
        ),
    ],
)
def test_invalid_routings_are_rejected(
    backends: tuple[WeightedBackend, ...], health: str, message: str
) -> None:
    with pytest.raises(TrafficError, match=message):
        build_dynamic_config(_routing(*backends, health=health))


def _settings(**entrypoints: int) -> StaticSettings:
    return StaticSettings(Path("/state/traefik"), entrypoints, "127.0.0.1", 9001, 9002)


def test_static_config_has_entrypoints_api_metrics_and_file_provider() -> None:
    config = build_static_config(_settings(production=8080, staging=8081))
    entrypoints = config["entryPoints"]
    assert entrypoints["production"]["address"] == "127.0.0.1:8080"
    assert entrypoints["staging"]["address"] == "127.0.0.1:8081"
    assert entrypoints["traefik"]["address"] == "127.0.0.1:9001"
    assert entrypoints["metrics"]["address"] == "127.0.0.1:9002"
    timeouts = entrypoints["production"]["transport"]["respondingTimeouts"]
    assert timeouts["readTimeout"] == "0s"  # Traefik's 60 s default would cut slow requests
    # The API and the metrics are served only through the owner's routers (basic auth).
    assert config["api"] == {"dashboard": False, "insecure": False}
    assert config["ping"] == {"entryPoint": "traefik"}
    assert config["metrics"]["prometheus"]["entryPoint"] == "metrics"
    assert config["metrics"]["prometheus"]["manualRouting"] is True
    assert config["metrics"]["prometheus"]["addServicesLabels"] is True
    assert config["accessLog"] == {"filePath": "/state/traefik/access.log", "format": "json"}
    assert config["providers"]["file"] == {"directory": "/state/traefik/dynamic", "watch": True}
    assert config["providers"]["providersThrottleDuration"] == "100ms"


def test_static_config_text_and_hash_are_deterministic_and_track_entrypoints() -> None:
    one = render(build_static_config(_settings(production=8080, staging=8081)))
    two = render(build_static_config(_settings(staging=8081, production=8080)))
    three = render(build_static_config(_settings(production=8080)))
    assert one == two
    assert config_hash(one) == config_hash(two) != config_hash(three)


@pytest.mark.parametrize("name", ["traefik", "metrics", "bad name"])
def test_reserved_or_invalid_entrypoint_names_are_rejected(name: str) -> None:
    with pytest.raises(TrafficError):
        build_static_config(_settings(**{name: 8080}))


def test_owner_config_puts_api_and_metrics_behind_basic_auth() -> None:
    htpasswd = htpasswd_line("moai-deploy", "s3cret-but-random")
    config = build_owner_config(htpasswd)
    routers = config["http"]["routers"]
    assert {name: r["service"] for name, r in routers.items()} == {
        API_ROUTER: "api@internal",
        METRICS_ROUTER: "prometheus@internal",
    }
    assert routers[API_ROUTER]["entryPoints"] == ["traefik"]
    assert routers[METRICS_ROUTER]["entryPoints"] == ["metrics"]
    assert all(r["middlewares"] == [OWNER_AUTH] for r in routers.values())
    auth = config["http"]["middlewares"][OWNER_AUTH]["basicAuth"]
    assert auth["users"] == [htpasswd] and auth["removeHeader"] is True
    # htpasswd's {SHA} scheme: base64 of the SHA-1 digest; never the password itself.
    digest = base64.b64encode(hashlib.sha1(b"s3cret-but-random").digest()).decode()
    assert htpasswd == f"moai-deploy:{{SHA}}{digest}"
    assert "s3cret-but-random" not in render(config)
    # No route can be named like the owner's objects, nor its file like theirs.
    for name in (API_ROUTER, METRICS_ROUTER, OWNER_AUTH, Path(OWNER_FILE).stem):
        with pytest.raises(TrafficError):
            check_name(name)
