"""Which HAProxy server slot carries which instance, with what weight (pure).

Every entrypoint's backend has a fixed pool of server slots declared in the configuration
(static servers keep pooled keep-alive connections to the instances; servers added at run
time in HAProxy 2.6 open a new connection per request). A routing assigns its instances to
slots: a slot gets an instance's address, its weight and its version (the request log
names the version through a map kept beside the configuration).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import gcd, lcm
from urllib.parse import urlsplit

from moai_deploy.traffic.base import Routing, TrafficError, WeightedBackend

MAX_WEIGHT = 256  # HAProxy's largest server weight
SLOTS = 64  # server slots per entrypoint: instances of all versions routed at once
_HOST = re.compile(r"^(\d{1,3}\.){3}\d{1,3}$")

Assignment = dict[str, str]  # slot name -> server key


@dataclass(frozen=True)
class Server:
    """One HAProxy server: an instance of one version, with its weight."""

    key: str  # "<version backend>:<host>:<port>": one instance of one version
    version: str
    host: str
    port: int
    weight: int


def slot_name(entrypoint: str, index: int) -> str:
    """The name of slot `index` (1-based) of `entrypoint`'s backend; unique across backends."""
    return f"{entrypoint}.s{index}"


def slot_names(entrypoint: str) -> list[str]:
    return [slot_name(entrypoint, i) for i in range(1, SLOTS + 1)]


def address(url: str) -> tuple[str, int]:
    """(host, port) of an instance URL; HAProxy's runtime API takes IPv4 literals only."""
    parts = urlsplit(url)
    host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or not _HOST.match(host) or port is None or parts.path not in "/":
        raise TrafficError(f"HAProxy backend URL {url!r}: use http://<IPv4>:<port>")
    return host, port


def _shares(backends: Iterable[WeightedBackend]) -> dict[str, int]:
    """Per-server weights giving each version exactly its share when HAProxy's range allows,
    else rounded to within 1/256 of it."""
    active = [b for b in backends if b.weight > 0]
    common = lcm(*(len(b.urls) for b in active))
    raw = {f"{b.name}:{url}": b.weight * common // len(b.urls) for b in active for url in b.urls}
    divisor = gcd(*raw.values())
    exact = {key: value // divisor for key, value in raw.items()}
    top = max(exact.values())
    if top <= MAX_WEIGHT:
        return exact
    return {key: max(1, round(value * MAX_WEIGHT / top)) for key, value in exact.items()}


def servers(routing: Routing) -> dict[str, Server]:
    """The instances of `routing` by key, with their weights (weight 0: kept, no traffic)."""
    shares = _shares(routing.backends)
    result: dict[str, Server] = {}
    for backend in sorted(routing.backends, key=lambda b: b.name):
        for url in sorted(backend.urls):
            host, port = address(url)
            key = f"{backend.name}:{host}:{port}"
            weight = shares.get(f"{backend.name}:{url}", 0)
            result[key] = Server(key, backend.name, host, port, weight)
    return result


def assign(entrypoint: str, previous: Mapping[str, str], wanted: Iterable[str]) -> Assignment:
    """Slots for the `wanted` server keys: kept where they already are; new ones take the
    free slots least recently used (a just-retired slot may still finish a request)."""
    wanted = list(wanted)
    kept = {slot: key for slot, key in previous.items() if key in wanted}
    placed = set(kept.values())
    names = slot_names(entrypoint)
    used = [names.index(s) for s in previous if s in names]
    start = (max(used) + 1) if used else 0
    ring = names[start:] + names[:start]
    free = [slot for slot in ring if slot not in previous]
    new = [key for key in wanted if key not in placed]
    if len(new) > len(free):
        raise TrafficError(
            f"entrypoint {entrypoint!r}: {len(kept) + len(new)} instances exceed HAProxy's "
            f"{SLOTS} server slots"
        )
    return {**kept, **dict(zip(free, new, strict=False))}
