"""Pure builders for HAProxy's configuration (no I/O).

One frontend and one backend per entrypoint (both named after it), the backend with a
fixed pool of server slots (see `servers`). Versions get their share through per-server
weights, which the runtime API changes without a reload; the file written from the same
routings and slot assignments lets a restarted HAProxy serve the last routing at once.

HAProxy runs supervised (`traffic.supervise`): the watchdog binds the ports and hands them
over as descriptors 3, 4, ... (entrypoints by name, then the metrics port), so frontends
bind `fd@N`; each process has its own runtime API socket, `admin-<pid>.sock`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moai_deploy.traffic.base import Routing, TrafficError, WeightedBackend
from moai_deploy.traffic.credentials import METRICS_USER
from moai_deploy.traffic.haproxy.servers import Assignment, address, servers, slot_names

GRACE_TIMEOUT_SECONDS = 10
CHECK = "check inter 1s fastinter 500ms fall 2 rise 2"  # on the readiness path
VERSIONS_MAP = "versions.map"  # slot -> version, relative to HAProxy's working directory
SOCKET_NAME = "admin-{pid}.sock"  # relative to the working directory too (see _global)
FIRST_FD = 3
NO_VERSION = "-"
# One JSON object per request on stdout (a file we own): the analysis reads it.
LOG_FORMAT = (
    '{"at":%Ts.%ms,"backend":"%b","server":"%s",'
    f'"version":"%[srv_name,map({VERSIONS_MAP},{NO_VERSION})]",'
    '"status":%ST,"ms":%Ta,"retries":%rc}'
)
METRICS_FRONTEND = "moai-metrics"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_PASSWORD = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


@dataclass(frozen=True)
class Settings:
    """Everything the configuration depends on besides the routings."""

    root: Path
    entrypoints: Mapping[str, int]  # entrypoint name -> port
    host: str
    health_path: str = "/ready"
    # The spec's `service.ready_status`: HAProxy's default takes 2xx and 3xx as up (it never
    # follows a redirect); `<500` also takes 4xx, as the rollout's own probe does.
    health_accept: str = "2xx"
    metrics_password: str = ""  # the Prometheus exporter's basic auth ("" : no exporter)

    def socket(self, pid: int) -> Path:
        """The runtime API socket of the HAProxy process `pid`."""
        return self.root / SOCKET_NAME.format(pid=pid)

    def listen_order(self) -> list[str]:
        """Names of the sockets handed over, in descriptor order from FIRST_FD."""
        names = sorted(self.entrypoints)
        return [*names, METRICS_FRONTEND] if self.metrics_password else names


def check_name(name: str) -> None:
    """Raise TrafficError unless `name` is safe as an HAProxy name and a file name."""
    if not _NAME.match(name):
        raise TrafficError(f"invalid HAProxy name {name!r}: use letters, digits, '.', '_', '-'")


def check_settings(settings: Settings) -> None:
    for name, port in settings.entrypoints.items():
        check_name(name)
        if not 0 < port < 65536:
            raise TrafficError(f"invalid port {port} for entrypoint {name!r}")
    if settings.metrics_password and not _PASSWORD.match(settings.metrics_password):
        raise TrafficError("invalid metrics password for HAProxy (letters, digits, '-', '_')")
    # The path goes into a configuration line: no blanks, comments, quotes or escapes.
    if not re.match(r"^/[^\s#'\"\\]*$", settings.health_path):
        raise TrafficError(f"invalid health path for HAProxy: {settings.health_path!r}")


def check_routing(routing: Routing, settings: Settings) -> None:
    """Raise TrafficError if HAProxy could not (or should not) serve `routing`."""
    names = [b.name for b in routing.backends]
    for name in (routing.route, routing.entrypoint, *names):
        check_name(name)
    if routing.entrypoint not in settings.entrypoints:
        raise TrafficError(f"route {routing.route!r}: unknown entrypoint {routing.entrypoint!r}")
    if len(set(names)) != len(names):
        raise TrafficError(f"route {routing.route!r}: backend names must be unique")
    if any(not 0 <= b.weight <= 100 for b in routing.backends):
        raise TrafficError(f"route {routing.route!r}: weights must be within 0..100")
    if sum(b.weight for b in routing.backends) != 100:
        raise TrafficError(f"route {routing.route!r}: weights must add up to 100")
    if any(not b.urls for b in routing.backends):
        raise TrafficError(f"route {routing.route!r}: every backend needs at least one URL")
    if routing.health_path != settings.health_path:
        raise TrafficError(
            f"route {routing.route!r}: health path {routing.health_path!r} differs from the "
            f"proxy's {settings.health_path!r} (restart the proxy with the new path)"
        )
    for backend in routing.backends:
        for url in backend.urls:
            address(url)


def normalized(routing: Routing) -> Routing:
    """`routing` with backends and URLs sorted: the form `current` returns."""
    backends = tuple(
        WeightedBackend(b.name, b.weight, tuple(sorted(b.urls)))
        for b in sorted(routing.backends, key=lambda b: b.name)
    )
    return Routing(routing.route, routing.entrypoint, backends, routing.health_path)


def _global(settings: Settings) -> list[str]:
    socket = SOCKET_NAME.format(pid="${LISTEN_PID}")  # HAProxy expands it: its own pid
    return [
        "global",
        # Relative to HAProxy's working directory (the state folder): a unix socket path
        # is limited to ~100 bytes, which a deep project folder exceeds.
        f'    stats socket "unix@{socket}" mode 600 level admin',
        "    stats timeout 30s",
        "    log stdout format raw local0 info",
        f"    hard-stop-after {GRACE_TIMEOUT_SECONDS}s",
        "",
        "defaults",
        "    mode http",
        "    log global",
        f"    log-format '{LOG_FORMAT}'",
        "    option dontlognull",
        # A refused connection to an instance (it just stopped) is retried on another
        # server (HAProxy retries connection failures only: a request is never sent twice).
        "    retries 3",
        "    option redispatch 1",
        "    timeout connect 5s",
        "    timeout client 180s",
        "    timeout server 180s",
        "    timeout http-keep-alive 180s",
        "    timeout queue 30s",
        "    timeout check 1s",
        "",
    ]


def _bind(settings: Settings, name: str, port: int, check: bool) -> str:
    """The frontend's socket: the watchdog's descriptor, or (for `haproxy -c`, which has
    no descriptors) the address it stands for."""
    if check:
        return f"    bind {settings.host}:{port}"
    return f"    bind fd@{FIRST_FD + settings.listen_order().index(name)}"


def _metrics(settings: Settings, check: bool) -> list[str]:
    """HAProxy's own Prometheus exporter, behind basic auth (the password is the owner's:
    this file and `metrics.auth` are 0600)."""
    if not settings.metrics_password:
        return []
    return [
        "userlist moai-metrics-users",
        f"    user {METRICS_USER} insecure-password {settings.metrics_password}",
        "",
        f"frontend {METRICS_FRONTEND}",
        _bind(settings, METRICS_FRONTEND, 1, check),  # -c parses binds, never opens them
        "    no log",
        "    http-request auth realm moai-deploy unless { http_auth(moai-metrics-users) }",
        "    http-request use-service prometheus-exporter if { path /metrics }",
        "    http-request deny",
        "",
    ]


def _proxy(
    settings: Settings, entrypoint: str, port: int, slots: Mapping[str, str], check: bool
) -> list[str]:
    lines = [
        f"frontend {entrypoint}",
        _bind(settings, entrypoint, port, check),
        f"    default_backend {entrypoint}",
        "",
        f"backend {entrypoint}",
        "    balance roundrobin",
        f"    option httpchk GET {settings.health_path}",
        *(["    http-check expect status 200-499"] if settings.health_accept == "<500" else []),
    ]
    for slot in slot_names(entrypoint):
        server = slots.get(slot)
        if server is None:  # a free slot: in maintenance, no traffic, no checks
            lines.append(f"    server {slot} 127.0.0.1:1 weight 0 disabled {CHECK}")
        else:
            lines.append(f"    server {slot} {server} {CHECK}")
    return [*lines, ""]


def _slots(routing: Routing | None, assignment: Mapping[str, str]) -> dict[str, str]:
    """slot -> "host:port weight N" for the assigned slots of `routing`."""
    wanted = servers(routing) if routing is not None else {}
    return {
        slot: f"{wanted[key].host}:{wanted[key].port} weight {wanted[key].weight}"
        for slot, key in assignment.items()
        if key in wanted
    }


def render(
    settings: Settings,
    routings: Iterable[Routing],
    assignments: Mapping[str, Assignment],
    check: bool = False,
) -> str:
    """The whole configuration for `settings` serving `routings` through `assignments`
    (entrypoint -> slot -> server key); `check`: the variant `haproxy -c` can parse."""
    check_settings(settings)
    by_entrypoint = {r.entrypoint: r for r in routings}
    lines = _global(settings)
    for entrypoint, port in sorted(settings.entrypoints.items()):
        slots = _slots(by_entrypoint.get(entrypoint), assignments.get(entrypoint, {}))
        lines += _proxy(settings, entrypoint, port, slots, check)
    lines += _metrics(settings, check)
    return "\n".join(lines) + "\n"


def render_map(
    settings: Settings, routings: Iterable[Routing], assignments: Mapping[str, Assignment]
) -> str:
    """The slot -> version map every slot of every entrypoint has a line in."""
    versions: dict[str, str] = {}
    for routing in routings:
        wanted = servers(routing)
        for slot, key in assignments.get(routing.entrypoint, {}).items():
            if key in wanted:
                versions[slot] = wanted[key].version
    lines = [
        f"{slot} {versions.get(slot, NO_VERSION)}"
        for entrypoint in sorted(settings.entrypoints)
        for slot in slot_names(entrypoint)
    ]
    return "\n".join(lines) + "\n"


def static_hash(settings: Settings) -> str:
    """Fingerprint of what needs a restart to change (everything but the servers)."""
    return hashlib.sha256(render(settings, (), {}).encode()).hexdigest()


def routing_to_json(routing: Routing) -> str:
    data = {
        "route": routing.route,
        "entrypoint": routing.entrypoint,
        "health_path": routing.health_path,
        "backends": [
            {"name": b.name, "weight": b.weight, "urls": list(b.urls)}
            for b in normalized(routing).backends
        ],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def routing_from_json(text: str) -> Routing:
    """Read back what `routing_to_json` wrote; TrafficError if it is not that."""
    try:
        data: Any = json.loads(text)
        backends = tuple(
            WeightedBackend(str(b["name"]), int(b["weight"]), tuple(str(u) for u in b["urls"]))
            for b in data["backends"]
        )
        return Routing(
            str(data["route"]), str(data["entrypoint"]), backends, str(data["health_path"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TrafficError(f"unreadable routing file ({exc!r})") from exc
