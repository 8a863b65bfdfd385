"""TrafficRouter on HAProxy's runtime API: weights and instances change without a reload.

A change is saved first (route file, slot assignment, configuration and version map, so
a restart serves it), then applied to every running HAProxy (the serving one and its warm
standby: either may carry the traffic next) in an order that never leaves
the route without a server taking traffic: newly assigned slots and raised weights first,
lowered weights next, retired slots last. A retired slot goes to maintenance: no new
requests, in-flight ones finish, and it is the last to be reused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable

from moai_deploy.traffic.base import Routing, TrafficError
from moai_deploy.traffic.haproxy.config import (
    NO_VERSION,
    VERSIONS_MAP,
    check_name,
    check_routing,
    normalized,
)
from moai_deploy.traffic.haproxy.process import HaproxyProcess
from moai_deploy.traffic.haproxy.runtime_api import RuntimeApi, ServerState
from moai_deploy.traffic.haproxy.servers import Assignment, Server, assign, servers
from moai_deploy.traffic.supervise.client import pid_alive

_POLL_INTERVAL = 0.02
_STARTING_TIMEOUT = 15.0  # a standby that has just been forked opens its socket soon


def on_every_process(process: HaproxyProcess, change: Callable[[RuntimeApi], None]) -> None:
    """Run `change` against every live HAProxy generation. A generation whose socket does
    not answer yet (starting) is retried; one that exits meanwhile needs nothing."""
    for pid, api in process.apis().items():
        deadline = time.monotonic() + _STARTING_TIMEOUT
        while True:
            try:
                change(api)
                break
            except TrafficError:
                if not pid_alive(pid):
                    break
                if time.monotonic() >= deadline:
                    raise
                time.sleep(_POLL_INTERVAL * 5)


def _enable(api: RuntimeApi, backend: str, slot: str, server: Server) -> None:
    """Point a slot at an instance of its version and let it take traffic."""
    api.must(f"set map {VERSIONS_MAP} {slot} {server.version}")
    api.run(f"set server {backend}/{slot} addr {server.host} port {server.port}")  # says what
    api.must(f"set server {backend}/{slot} weight {server.weight}")
    api.must(f"set server {backend}/{slot} state ready")


def apply(api: RuntimeApi, backend: str, wanted: dict[str, Server], slots: Assignment) -> None:
    """Make the running backend serve `wanted` through `slots`, never without traffic."""
    actual = api.servers(backend)
    fresh, raised, lowered = [], [], []
    for slot, key in slots.items():
        server, state = wanted[key], actual[slot]
        if state.in_maintenance or (state.host, state.port) != (server.host, server.port):
            fresh.append((slot, server))
        elif server.weight >= state.weight:
            raised.append((slot, server))
        else:
            lowered.append((slot, server))
    for slot, server in fresh:
        _enable(api, backend, slot, server)
    for slot, server in [*raised, *lowered]:
        if actual[slot].weight != server.weight:
            api.must(f"set server {backend}/{slot} weight {server.weight}")
    for slot, state in actual.items():
        if slot not in slots and not state.in_maintenance:
            api.must(f"set server {backend}/{slot} state maint")


def differences(
    actual: dict[str, ServerState], wanted: dict[str, Server], slots: Assignment
) -> list[str]:
    """What keeps the running backend from serving exactly `wanted` through `slots`."""
    diffs = []
    for slot, key in slots.items():
        server, state = wanted[key], actual.get(slot)
        if state is None:
            diffs.append(f"slot {slot} missing")
        elif (state.host, state.port) != (server.host, server.port):
            diffs.append(f"slot {slot} points to {state.host}:{state.port}, not {key}")
        elif state.weight != server.weight or state.in_maintenance:
            diffs.append(f"slot {slot} ({key}) has weight {state.weight} (admin {state.admin})")
    diffs += [
        f"slot {slot} ({state.host}:{state.port}) still takes traffic"
        for slot, state in actual.items()
        if slot not in slots and not state.in_maintenance and state.weight > 0
    ]
    return diffs


def map_differences(api: RuntimeApi, wanted: dict[str, Server], slots: Assignment) -> list[str]:
    """Slots whose version in HAProxy's live map (what the request log names) is wrong."""
    live = {}
    for line in api.run(f"show map {VERSIONS_MAP}").splitlines():
        fields = line.split()
        if len(fields) == 3:  # "<id> <slot> <version>"
            live[fields[1]] = fields[2]
    return [
        f"slot {slot} is logged as {live.get(slot, NO_VERSION)}, not {wanted[key].version}"
        for slot, key in slots.items()
        if live.get(slot) != wanted[key].version
    ]


def make_room(process: HaproxyProcess) -> bool:
    """On a full disk: drop rotated logs, empty the request log (HAProxy appends to it, so
    it goes on writing); whether anything was freed."""
    freed = False
    for path in (process.access_log, process.log_file):
        backup = path.with_name(path.name + ".1")
        with contextlib.suppress(OSError):
            freed |= backup.stat().st_size > 0
            backup.unlink()
    with contextlib.suppress(OSError):
        if process.access_log.stat().st_size > 0:
            os.truncate(process.access_log, 0)
            freed = True
    return freed


class HaproxyRouter:
    """Applies routings to the HAProxy of `process` through its runtime API."""

    def __init__(self, process: HaproxyProcess) -> None:
        self._process = process

    def _slots(self, entrypoint: str) -> Assignment:
        return self._process.assignments().get(entrypoint, {})

    def set_weights(self, routing: Routing) -> None:
        """Replace the route's routing with `routing`: saved, then applied without a reload."""
        check_routing(routing, self._process.settings)
        for other in self._process.saved_routings():
            if other.entrypoint == routing.entrypoint and other.route != routing.route:
                raise TrafficError(
                    f"entrypoint {routing.entrypoint!r} already serves route {other.route!r}"
                )
        wanted = servers(routing)
        slots = assign(routing.entrypoint, self._slots(routing.entrypoint), wanted)
        save = (routing.route, normalized(routing), routing.entrypoint, slots)
        try:
            self._process.save_routing(*save)
        except OSError as exc:
            # A full disk must not keep traffic on a bad version: our logs make the room.
            if exc.errno != errno.ENOSPC or not make_room(self._process):
                raise
            self._process.save_routing(*save)
        on_every_process(self._process, lambda api: apply(api, routing.entrypoint, wanted, slots))

    def verify(self, routing: Routing, timeout: float = 10.0) -> None:
        """Return once HAProxy serves exactly `routing` (read back from it); else TrafficError."""
        check_routing(routing, self._process.settings)
        wanted = servers(routing)
        slots = self._slots(routing.entrypoint)
        if sorted(slots.values()) != sorted(wanted):
            raise TrafficError(f"route {routing.route!r}: {routing} was never applied")
        deadline = time.monotonic() + timeout
        while True:
            diffs = []
            try:
                apis = self._process.apis() or {0: self._process.api()}  # none: says why
                for pid, api in apis.items():
                    try:
                        actual = api.servers(routing.entrypoint)
                        found = differences(actual, wanted, slots)
                        found += map_differences(api, wanted, slots)
                    except TrafficError:
                        if pid_alive(pid) or pid == 0:
                            raise
                        found = []  # exited meanwhile: serves nothing
                    diffs += [f"HAProxy pid {pid}: {d}" for d in found]
            except TrafficError as exc:
                diffs = [str(exc)]
            if not diffs:
                return
            if time.monotonic() >= deadline:
                raise TrafficError(
                    f"HAProxy does not serve the expected routing of {routing.route!r} after "
                    f"{timeout:.1f}s: " + "; ".join(diffs) + f" (see {self._process.log_file})"
                )
            time.sleep(_POLL_INTERVAL)

    def servers_down(self, backend: str) -> list[str] | None:
        """URLs of `backend` (a version) HAProxy's health check holds down (None: cannot say)."""
        for routing in self._process.saved_routings():
            if any(b.name == backend for b in routing.backends):
                break
        else:
            return None
        try:
            actual = self._process.api().servers(routing.entrypoint)
        except TrafficError:
            return None
        wanted = servers(routing)
        down = []
        for slot, key in self._slots(routing.entrypoint).items():
            server, state = wanted.get(key), actual.get(slot)
            if server is not None and server.version == backend and state and state.held_down:
                down.append(f"http://{server.host}:{server.port}")
        return sorted(down)

    def current(self, route: str) -> Routing | None:
        """The routing last applied for `route` (backends sorted by name), or None."""
        check_name(route)
        for routing in self._process.saved_routings():
            if routing.route == route:
                return routing
        return None

    def remove(self, route: str) -> None:
        """Stop routing `route`: forget it and put its slots in maintenance."""
        routing = self.current(route)
        if routing is None:
            return
        self._process.save_routing(route, None, routing.entrypoint, {})

        def retire(api: RuntimeApi) -> None:
            apply(api, routing.entrypoint, {}, {})
            leftover = differences(api.servers(routing.entrypoint), {}, {})
            if leftover:
                raise TrafficError(f"HAProxy still routes {route!r}: " + "; ".join(leftover))

        on_every_process(self._process, retire)
