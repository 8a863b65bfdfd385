"""What the watchdog runs (a router program) and what it reports (its generations), as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ListenSpec:
    """One socket handed to the router under `name` (its entrypoint / bind name).

    `shared` sockets are the service ports: every generation listens on the same port
    (SO_REUSEPORT). Others (API, metrics) get a fresh loopback port per generation.
    """

    name: str
    host: str = "127.0.0.1"
    port: int = 0
    shared: bool = True


@dataclass(frozen=True)
class RouterProgram:
    """A router the watchdog keeps running: argv, environment, sockets and readiness."""

    argv: tuple[str, ...]
    env: dict[str, str]
    listen: tuple[ListenSpec, ...]
    # Readiness probe run by the watchdog: {"kind": "traefik", ...} (see watchdog.READY_CHECKS).
    ready: dict[str, Any]
    # Files the watchdog rotates by size; the router is told to reopen them (SIGUSR1).
    log_files: tuple[str, ...] = ()
    max_log_bytes: int = 10 * 1024 * 1024
    fingerprint: str = ""  # changes when a restart is needed (static config)
    # The router's graceful stop (Traefik: SIGTERM; HAProxy: SIGUSR1, its soft stop).
    stop_signal: int = 15
    # Sent after a log file was rotated so the router reopens it; 0: the router cannot
    # reopen (HAProxy logs to its stdout), so the file is copied aside and truncated.
    reopen_signal: int = 10
    stdout: str = ""  # a file the router's stdout appends to ("" : the watchdog's own)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RouterProgram:
        listen = tuple(ListenSpec(**item) for item in data["listen"])
        return cls(
            argv=tuple(data["argv"]),
            env=dict(data["env"]),
            listen=listen,
            ready=dict(data["ready"]),
            log_files=tuple(data.get("log_files", ())),
            max_log_bytes=int(data.get("max_log_bytes", 10 * 1024 * 1024)),
            fingerprint=str(data.get("fingerprint", "")),
            stop_signal=int(data.get("stop_signal", 15)),
            reopen_signal=int(data.get("reopen_signal", 10)),
            stdout=str(data.get("stdout", "")),
        )


@dataclass
class Generation:
    """One router process and the private ports it got (name -> port)."""

    pid: int
    ports: dict[str, int]
    started: float
    ready: bool = False
    fingerprint: str = ""
    exit_status: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Generation:
        return cls(
            pid=int(data["pid"]),
            ports={str(k): int(v) for k, v in data["ports"].items()},
            started=float(data["started"]),
            ready=bool(data.get("ready", False)),
            fingerprint=str(data.get("fingerprint", "")),
        )


@dataclass
class Report:
    """What the watchdog writes after every change (state.json)."""

    watchdog_pid: int
    generations: list[Generation] = field(default_factory=list)  # kernel order: [0] serves
    restarts: int = 0
    last_exit: str = ""
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "watchdog_pid": self.watchdog_pid,
            "generations": [asdict(g) for g in self.generations],
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "error": self.error,
        }
