"""Start, query and stop the watchdog of one router folder (from any CLI run)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from moai_deploy.paths import PRIVATE_UMASK, private_file
from moai_deploy.traffic.base import TrafficError
from moai_deploy.traffic.supervise.program import Generation, RouterProgram
from moai_deploy.traffic.supervise.sockets import port_in_use

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
_MODULE = "moai_deploy.traffic.supervise.watchdog"
# The watchdog outlives the CLI: hand it only what it needs, never the CLI's environment.
_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "TZ")


@dataclass(frozen=True)
class SupervisorState:
    """What the watchdog last reported, checked against the live pids."""

    watchdog_pid: int
    generations: list[Generation]  # kernel order: the first one serves
    restarts: int
    last_exit: str
    error: str

    @property
    def serving(self) -> Generation | None:
        first = self.generations[0] if self.generations else None
        return first if first is not None and first.ready and pid_alive(first.pid) else None


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Supervisor:
    """The watchdog of `root`: config in `supervise.json`, reports in `state.json`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "supervise.json"
        self.state_file = root / "state.json"
        self.log = root / "watchdog.log"

    def state(self) -> SupervisorState | None:
        """The live watchdog's report, or None when no watchdog of this folder runs."""
        try:
            data = json.loads(self.state_file.read_text())
            pid = int(data["watchdog_pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not self._is_watchdog(pid):
            return None
        return SupervisorState(
            pid,
            [Generation.from_json(g) for g in data.get("generations", [])],
            int(data.get("restarts", 0)),
            str(data.get("last_exit", "")),
            str(data.get("error", "")),
        )

    def routers(self) -> list[int]:
        """Pids of router processes the last report names that still run (maybe orphans)."""
        try:
            data = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return []
        pids = [int(g["pid"]) for g in data.get("generations", []) if "pid" in g]
        return [pid for pid in pids if pid_alive(pid)]

    def own_ports(self) -> set[int]:
        """Every port a live generation of this watchdog listens on."""
        state = self.state()
        return {port for g in state.generations for port in g.ports.values()} if state else set()

    def busy_ports(self, host: str, entrypoints: Mapping[str, int]) -> dict[str, int]:
        """Entrypoints whose port another program holds (this watchdog's are not busy)."""
        own = self.own_ports()
        return {
            name: port
            for name, port in entrypoints.items()
            if port not in own and port_in_use(host, port)
        }

    def restarts(self) -> int:
        """How often the watchdog restarted a router that died."""
        state = self.state()
        return state.restarts if state else 0

    def fingerprint(self) -> str:
        """The fingerprint of the program the watchdog is told to run ("" : none)."""
        try:
            return str(json.loads(self.config.read_text()).get("fingerprint", ""))
        except (OSError, ValueError, AttributeError):
            return ""

    def start(self, program: RouterProgram) -> None:
        """Run `program` supervised (a changed fingerprint hands over to new routers)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = json.dumps(program.to_json(), indent=1)
        changed = not self.config.exists() or self.config.read_text() != text
        if changed:
            tmp = private_file(self.root / ".supervise.json.tmp")
            tmp.write_text(text)
            os.replace(tmp, self.config)
        state = self.state()
        if state is None:
            self._spawn()
        elif changed:
            os.kill(state.watchdog_pid, signal.SIGHUP)

    def wait_serving(self, fingerprint: str, timeout: float = START_TIMEOUT) -> Generation:
        """Block until a generation of `fingerprint` serves (routes loaded); TrafficError."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if state is None:
                raise TrafficError(f"the router watchdog exited: {self._why()}")
            serving = state.serving
            if serving is not None and serving.fingerprint == fingerprint:
                return serving
            if state.error and not state.generations:
                raise TrafficError(f"the router cannot start: {state.error}")
            if time.monotonic() >= deadline:
                raise TrafficError(f"the router did not serve within {timeout:.0f}s: {self._why()}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the watchdog and its routers (gracefully, then SIGKILL); leftovers by pid."""
        state = self.state()
        if state is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(state.watchdog_pid, signal.SIGTERM)
            if not _wait(lambda: not pid_alive(state.watchdog_pid), STOP_TIMEOUT):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(state.watchdog_pid, signal.SIGKILL)
        for pid in self.routers():  # a watchdog that was killed left them running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not _wait(lambda pid=pid: not pid_alive(pid), STOP_TIMEOUT):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.state_file.unlink(missing_ok=True)

    def _spawn(self) -> None:
        env = {key: os.environ[key] for key in _ENV_KEYS if key in os.environ}
        private_file(self.log)
        with self.log.open("ab") as out:
            subprocess.Popen(
                [sys.executable, "-I", "-m", _MODULE, str(self.config)],
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # detached: outlives the CLI run and its Ctrl-C
                umask=PRIVATE_UMASK,
            )
        # The watchdog writes its report at once; until then state() is the old one.
        _wait(lambda: self.state() is not None, START_TIMEOUT)

    def _is_watchdog(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return _MODULE.encode() in cmdline and os.fsencode(self.config) in cmdline

    def _why(self) -> str:
        try:
            tail = self.log.read_text(errors="replace").splitlines()[-10:]
        except OSError:
            tail = []
        state = self.state()
        detail = state.error or state.last_exit if state else ""
        return "; ".join(part for part in (detail, " | ".join(tail)) if part) or "no details"


def _wait(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    check = predicate  # a callable; typed loosely for lambdas with defaults
    while not check():  # type: ignore[operator]
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True
