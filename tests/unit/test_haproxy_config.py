"""HAProxy's configuration and runtime view of a routing, built without a running proxy."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from moai_deploy.traffic.base import Routing, TrafficError, WeightedBackend
from moai_deploy.traffic.haproxy.config import (
    Settings,
    check_routing,
    check_settings,
    render,
    render_map,
    routing_from_json,
    routing_to_json,
    static_hash,
)
from moai_deploy.traffic.haproxy.servers import (
    MAX_WEIGHT,
    SLOTS,
    address,
    assign,
    servers,
    slot_name,
)


def _urls(first_port: int, count: int) -> tuple[str, ...]:
    return tuple(f"http://127.0.0.1:{first_port + i}" for i in range(count))


def _routing(*groups: tuple[str, int, int], route: str = "hello-production") -> Routing:
    """groups: (name, weight, number of instances)."""
    backends = tuple(
        WeightedBackend(name, weight, _urls(40000 + 100 * n, count))
        for n, (name, weight, count) in enumerate(groups)
    )
    return Routing(route, "production", backends)


def _share(routing: Routing, name: str) -> float:
    weights = servers(routing)
    total = sum(s.weight for s in weights.values())
    return sum(s.weight for s in weights.values() if s.version == name) / total


SETTINGS = Settings(Path("/state/haproxy"), {"production": 8082, "staging": 8081}, "127.0.0.1")


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ((("blue", 90, 2), ("green", 10, 2)), [9, 9, 1, 1]),
        ((("blue", 75, 3), ("green", 25, 3)), [3, 3, 3, 1, 1, 1]),
        ((("blue", 50, 1), ("green", 50, 3)), [3, 1, 1, 1]),
        ((("blue", 33, 1), ("green", 67, 1)), [33, 67]),
        ((("blue", 100, 2), ("green", 0, 2)), [1, 1, 0, 0]),
    ],
)
def test_server_weights_give_each_version_exactly_its_share(
    groups: tuple[tuple[str, int, int], ...], expected: list[int]
) -> None:
    routing = _routing(*groups)
    assert [s.weight for s in servers(routing).values()] == expected
    for name, weight, _ in groups:
        assert _share(routing, name) == pytest.approx(weight / 100)


def test_weights_beyond_haproxys_range_are_rounded_within_one_percent() -> None:
    routing = _routing(("blue", 1, 3), ("green", 99, 7))
    weights = [s.weight for s in servers(routing).values()]
    assert max(weights) <= MAX_WEIGHT and min(weights) >= 1
    assert _share(routing, "blue") == pytest.approx(0.01, abs=0.005)


def test_server_keys_carry_the_version_and_address() -> None:
    (server,) = servers(_routing(("hello-production-blue", 100, 1))).values()
    assert server.key == "hello-production-blue:127.0.0.1:40000"
    assert (server.version, server.host, server.port) == (
        "hello-production-blue",
        "127.0.0.1",
        40000,
    )


def test_slots_keep_their_instance_and_new_ones_take_the_least_recently_used() -> None:
    first = assign("production", {}, ["v1:a", "v1:b"])
    assert first == {slot_name("production", 1): "v1:a", slot_name("production", 2): "v1:b"}
    second = assign("production", first, ["v1:b", "v2:c"])
    assert second[slot_name("production", 2)] == "v1:b"  # kept where it was
    assert second[slot_name("production", 3)] == "v2:c"  # not slot 1, which just retired
    third = assign("production", second, ["v2:c", "v2:d"])
    assert third[slot_name("production", 4)] == "v2:d"


def test_more_instances_than_slots_is_an_error() -> None:
    with pytest.raises(TrafficError, match=f"{SLOTS} server slots"):
        assign("production", {}, [f"v:{i}" for i in range(SLOTS + 1)])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("http://localhost:8000/", ("127.0.0.1", 8000)),
        ("http://10.0.0.7:80", ("10.0.0.7", 80)),
    ],
)
def test_instance_addresses(url: str, expected: tuple[str, int]) -> None:
    assert address(url) == expected


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1:8000", "http://example.com:80", "http://127.0.0.1", "http://1.2.3.4:1/x"],
)
def test_unusable_instance_urls_are_refused(url: str) -> None:
    with pytest.raises(TrafficError, match="IPv4"):
        address(url)


@pytest.mark.parametrize(
    ("routing", "message"),
    [
        (_routing(("blue", 60, 1), ("green", 60, 1)), "add up to 100"),
        (_routing(("blue", 100, 1), ("blue", 0, 1)), "unique"),
        (_routing(("blue", 100, 1), route="bad name"), "invalid HAProxy name"),
        (_routing(("blue", 100, 0)), "at least one URL"),
        (
            Routing("r", "nowhere", (WeightedBackend("blue", 100, ("http://127.0.0.1:1",)),)),
            "unknown entrypoint",
        ),
        (
            Routing(
                "r", "production", (WeightedBackend("b", 100, ("http://127.0.0.1:1",)),), "/hz"
            ),
            "health path",
        ),
    ],
)
def test_routings_haproxy_cannot_serve_are_refused(routing: Routing, message: str) -> None:
    with pytest.raises(TrafficError, match=message):
        check_routing(routing, SETTINGS)


def test_render_has_a_frontend_and_backend_per_entrypoint_with_the_routed_servers() -> None:
    routing = _routing(("blue", 90, 2), ("green", 10, 1))
    slots = {"production": assign("production", {}, servers(routing))}
    text = render(SETTINGS, [routing], slots)
    # The watchdog's sockets by descriptor, entrypoints by name (production 3, staging 4).
    assert "frontend production\n    bind fd@3\n" in text
    assert "frontend staging\n    bind fd@4\n" in text
    checked = render(SETTINGS, [routing], slots, check=True)  # for `haproxy -c`: addresses
    assert "frontend production\n    bind 127.0.0.1:8082" in checked
    assert "frontend staging\n    bind 127.0.0.1:8081" in checked
    assert "option httpchk GET /ready" in text
    assert "server production.s1 127.0.0.1:40000 weight 9 check" in text
    assert "server production.s3 127.0.0.1:40100 weight 2 check" in text
    assert "server production.s4 127.0.0.1:1 weight 0 disabled check" in text
    assert 'stats socket "unix@admin-${LISTEN_PID}.sock" mode 600 level admin' in text
    assert "prometheus-exporter" not in text  # no password: no exporter
    staging = text.split("backend staging", 1)[1]
    assert staging.count(" server ") == SLOTS and staging.count(" disabled ") == SLOTS
    versions = render_map(SETTINGS, [routing], slots).splitlines()
    assert versions[:4] == [
        "production.s1 blue",
        "production.s2 blue",
        "production.s3 green",
        "production.s4 -",
    ]
    assert len(versions) == 2 * SLOTS


def test_the_exporter_has_its_own_descriptor_after_the_entrypoints_and_basic_auth() -> None:
    settings = Settings(SETTINGS.root, SETTINGS.entrypoints, "127.0.0.1", metrics_password="p" * 20)
    assert settings.listen_order() == ["production", "staging", "moai-metrics"]
    text = render(settings, [], {})
    metrics = text.split("frontend moai-metrics", 1)[1]
    assert metrics.startswith("\n    bind fd@5\n")
    assert "http-request auth realm moai-deploy unless { http_auth(moai-metrics-users) }" in text
    assert f"user moai-deploy insecure-password {'p' * 20}" in text
    with pytest.raises(TrafficError, match="metrics password"):
        check_settings(Settings(SETTINGS.root, {}, "127.0.0.1", metrics_password="a b"))


def test_static_hash_ignores_routings_but_not_entrypoints() -> None:
    grown = Settings(SETTINGS.root, {**SETTINGS.entrypoints, "demo": 8090}, "127.0.0.1")
    assert static_hash(SETTINGS) != static_hash(grown)
    routing = _routing(("blue", 100, 1))
    slots = {"production": assign("production", {}, servers(routing))}
    assert render(SETTINGS, [], {}) != render(SETTINGS, [routing], slots)


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="HAProxy is installed by .ci/run")
def test_haproxy_itself_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    ports = {"production": 18082, "production-preview": 19082}
    settings = Settings(tmp_path, ports, "0.0.0.0", metrics_password="m" * 24)
    config = tmp_path / "haproxy.cfg"
    routing = _routing(("blue", 75, 3), ("green", 25, 2))
    slots = {"production": assign("production", {}, servers(routing))}
    config.write_text(render(settings, [routing], slots, check=True))  # -c has no descriptors
    (tmp_path / "versions.map").write_text(render_map(settings, [routing], slots))
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(config)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"LISTEN_PID": "1", "PATH": "/usr/sbin:/usr/bin:/bin"},
    )
    assert checked.returncode == 0, checked.stderr


def test_routing_files_round_trip_sorted() -> None:
    routing = Routing(
        "hello-production",
        "production",
        (
            WeightedBackend("green", 25, ("http://127.0.0.1:2", "http://127.0.0.1:1")),
            WeightedBackend("blue", 75, ("http://127.0.0.1:3",)),
        ),
    )
    back = routing_from_json(routing_to_json(routing))
    assert [b.name for b in back.backends] == ["blue", "green"]
    assert back.backends[1].urls == ("http://127.0.0.1:1", "http://127.0.0.1:2")
    assert back.weights() == routing.weights()
    with pytest.raises(TrafficError, match="unreadable"):
        routing_from_json('{"route": "x"}')


def test_health_check_takes_4xx_only_with_ready_status_below_500() -> None:
    # HAProxy's default already takes 2xx and 3xx (a redirect) and never follows one.
    assert "http-check expect" not in render(SETTINGS, [], {})
    below_500 = render(dataclasses.replace(SETTINGS, health_accept="<500"), [], {})
    assert below_500.count("http-check expect status 200-499") == len(SETTINGS.entrypoints)
