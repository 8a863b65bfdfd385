"""The HAProxy of a state folder, supervised: an active and a warm standby on the same ports.

The watchdog (`traffic.supervise`) owns the processes and the listening sockets; this class
describes the HAProxy program to it and waits until a generation answers. The configuration
file always holds the routings saved under `routes/`, so every (re)started HAProxy serves
the last routing before it takes a request; changes in between go to every live
generation's runtime API (`apis`) and the file is rewritten alongside.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
from collections.abc import Iterator, Mapping
from pathlib import Path

from moai_deploy.paths import exclusive_lock, private_file, write_private
from moai_deploy.traffic.base import Routing, TrafficError
from moai_deploy.traffic.credentials import PASSWORD_FILE, owner_credentials
from moai_deploy.traffic.haproxy.config import (
    GRACE_TIMEOUT_SECONDS,
    METRICS_FRONTEND,
    SOCKET_NAME,
    VERSIONS_MAP,
    Settings,
    check_name,
    check_settings,
    render,
    render_map,
    routing_from_json,
    routing_to_json,
    static_hash,
)
from moai_deploy.traffic.haproxy.program import (
    check_config,
    find_haproxy_binary,
    stop_unsupervised,
    unsupervised_pid,
)
from moai_deploy.traffic.haproxy.runtime_api import RuntimeApi
from moai_deploy.traffic.haproxy.servers import Assignment
from moai_deploy.traffic.supervise import ListenSpec, RouterProgram, Supervisor
from moai_deploy.traffic.supervise.client import pid_alive
from moai_deploy.traffic.supervise.ports import stable_port

START_TIMEOUT = 30.0
STOP_TIMEOUT = GRACE_TIMEOUT_SECONDS + 5.0
MAX_LOG_BYTES = 10 * 1024 * 1024  # the request log: at most 2x this (copied aside, emptied)


class HaproxyProcess:
    """Owns the (supervised) HAProxy of `root`; it outlives the CLI run that starts it."""

    def __init__(
        self,
        root: Path,
        entrypoints: Mapping[str, int],
        host: str = "127.0.0.1",
        health_path: str = "/ready",
        health_accept: str = "2xx",
    ) -> None:
        self.root = root
        self.supervisor = Supervisor(root)
        entrypoints = dict(sorted(entrypoints.items()))
        self.settings = Settings(root, entrypoints, host, health_path, health_accept)
        check_settings(self.settings)

    @property
    def entrypoints(self) -> dict[str, int]:
        return dict(self.settings.entrypoints)

    @property
    def routes_dir(self) -> Path:
        return self.root / "routes"

    @property
    def config_file(self) -> Path:
        return self.root / "haproxy.cfg"

    @property
    def access_log(self) -> Path:
        """One JSON line per request (HAProxy's stdout)."""
        return self.root / "access.log"

    @property
    def log_file(self) -> Path:
        """The watchdog's log, where HAProxy's own messages (stderr) go too."""
        return self.supervisor.log

    @property
    def _slots_file(self) -> Path:
        return self.root / "slots.json"

    @property
    def metrics_password_file(self) -> Path:
        """The Prometheus exporter's basic-auth password (user METRICS_USER; 0600)."""
        return self.root / PASSWORD_FILE

    @property
    def metrics_url(self) -> str:
        """HAProxy's Prometheus exporter (basic auth: `metrics_auth_file`); TrafficError if
        no HAProxy serves. The port is the same across restarts."""
        if not self.is_running():
            raise TrafficError(f"HAProxy is not running for {self.root}")
        return f"http://127.0.0.1:{self._metrics_port()}/metrics"

    def metrics_credentials(self) -> tuple[str, str]:
        """The exporter's (user, password), the password created on first use."""
        return owner_credentials(self.metrics_password_file)

    def apis(self) -> dict[int, RuntimeApi]:
        """pid -> runtime API of every live generation of the current configuration (the
        serving one first); of all of them while none runs yet. Older ones are being
        retired: they take no new connection once a current one serves."""
        state = self.supervisor.state()
        gens = [g for g in (state.generations if state else []) if pid_alive(g.pid)]
        current = [g for g in gens if g.fingerprint == self.supervisor.fingerprint()]
        return {g.pid: RuntimeApi(self.settings.socket(g.pid)) for g in current or gens}

    def api(self) -> RuntimeApi:
        """The runtime API of the serving generation; TrafficError if none serves."""
        state = self.supervisor.state()
        serving = state.serving if state else None
        if serving is None:
            raise TrafficError(f"HAProxy is not running for {self.root}")
        return RuntimeApi(self.settings.socket(serving.pid))

    def entrypoint_url(self, name: str) -> str:
        """Base URL clients use to reach the entrypoint `name`."""
        if name not in self.settings.entrypoints:
            raise TrafficError(f"unknown HAProxy entrypoint {name!r}")
        return f"http://{self.settings.host}:{self.settings.entrypoints[name]}"

    def is_running(self) -> bool:
        """Whether an HAProxy of this folder serves (an unsupervised one of an older
        version counts: it holds the ports until `stop`)."""
        state = self.supervisor.state()
        return (state is not None and state.serving is not None) or self._unsupervised() > 0

    def pid(self) -> int | None:
        state = self.supervisor.state()
        serving = state.serving if state else None
        return serving.pid if serving is not None else None

    def restarts(self) -> int:
        return self.supervisor.restarts()

    def busy_ports(self) -> dict[str, int]:
        """Entrypoints whose port another program holds (ours are not busy)."""
        return self.supervisor.busy_ports(self.settings.host, self.entrypoints)

    def ensure_running(self) -> None:
        """Start (or hand over to a new configuration) and wait until a generation serves."""
        with self._locked():
            busy = self.busy_ports()
            if busy:
                listed = ", ".join(f"{port} ({name})" for name, port in busy.items())
                raise TrafficError(f"port(s) already in use by another program: {listed}")
            program = self._program()
            self.supervisor.start(program)
            self.supervisor.wait_serving(program.fingerprint, START_TIMEOUT)
            self._drop_stale_sockets()

    def stop(self) -> None:
        """Stop HAProxy gracefully (soft stop, wait, SIGKILL) and its watchdog."""
        with self._locked():
            old = self._unsupervised()  # read before the watchdog's stop clears state.json
            self.supervisor.stop()
            if old:
                stop_unsupervised(old, STOP_TIMEOUT)
            self._drop_stale_sockets()

    def saved_routings(self) -> list[Routing]:
        """The routings saved under `routes/`, by route name."""
        if not self.routes_dir.is_dir():
            return []
        return [routing_from_json(p.read_text()) for p in sorted(self.routes_dir.glob("*.json"))]

    def assignments(self) -> dict[str, Assignment]:
        """Saved slot assignments: entrypoint -> slot -> server key."""
        try:
            data = json.loads(self._slots_file.read_text())
            return {str(ep): {str(s): str(k) for s, k in v.items()} for ep, v in data.items()}
        except FileNotFoundError:
            return {}
        except (ValueError, AttributeError) as exc:
            raise TrafficError(f"unreadable {self._slots_file}: {exc}") from exc

    def save_routing(
        self, route: str, routing: Routing | None, entrypoint: str, slots: Assignment
    ) -> None:
        """Record `routing` (None: forget the route) served through `slots` on `entrypoint`,
        and rewrite the configuration and the version map from everything saved."""
        check_name(route)
        with self._locked():
            self.routes_dir.mkdir(parents=True, exist_ok=True)
            path = self.routes_dir / f"{route}.json"
            if routing is None:
                path.unlink(missing_ok=True)
            else:
                write_private(path, routing_to_json(routing))
            assignments = {**self.assignments(), entrypoint: slots}
            write_private(self._slots_file, json.dumps(assignments, indent=2, sort_keys=True))
            self._write_config()

    # -- internals -------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        with exclusive_lock(self.root / "haproxy.lock"):
            yield

    def _full_settings(self) -> Settings:
        _, password = self.metrics_credentials()
        return dataclasses.replace(self.settings, metrics_password=password)

    def _write_config(self) -> None:
        routings, assignments = self.saved_routings(), self.assignments()
        settings = self._full_settings()
        write_private(self.root / VERSIONS_MAP, render_map(settings, routings, assignments))
        write_private(self.config_file, render(settings, routings, assignments))

    def _metrics_port(self) -> int:
        return stable_port(self.root / "metrics.port", self.supervisor.own_ports())

    def _program(self) -> RouterProgram:
        binary = find_haproxy_binary()
        self.root.chmod(0o700)
        self._write_config()
        settings = self._full_settings()
        check_config(
            binary, self.root, render(settings, self.saved_routings(), self.assignments(), True)
        )
        private_file(self.access_log)  # its request log: the owner's only
        ports = {**self.settings.entrypoints, METRICS_FRONTEND: self._metrics_port()}
        host = {METRICS_FRONTEND: "127.0.0.1"}
        listen = tuple(
            ListenSpec(name, host.get(name, self.settings.host), ports[name])
            for name in settings.listen_order()
        )
        return RouterProgram(
            argv=(str(binary), "-db", "-f", str(self.config_file)),
            env={},
            listen=listen,
            ready={"kind": "haproxy", "socket": SOCKET_NAME},
            log_files=(str(self.access_log),),
            max_log_bytes=MAX_LOG_BYTES,
            fingerprint=static_hash(settings)[:16],
            stop_signal=int(signal.SIGUSR1),  # soft stop: in-flight requests finish
            reopen_signal=0,  # HAProxy cannot reopen its stdout: copied aside and emptied
            stdout=str(self.access_log),
        )

    def _unsupervised(self) -> int:
        return unsupervised_pid(self.supervisor.state_file, self.config_file)

    def _drop_stale_sockets(self) -> None:
        """Runtime API sockets of HAProxy processes that have exited."""
        for path in self.root.glob(SOCKET_NAME.format(pid="*")):
            with contextlib.suppress(ValueError, OSError):
                pid = int(path.name.removeprefix("admin-").removesuffix(".sock"))
                if not pid_alive(pid):
                    path.unlink()
