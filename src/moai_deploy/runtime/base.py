"""The runtime protocol: start, stop and list a service's instances.

The rollout code only talks to this protocol, never to a process manager directly.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class InstanceState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    CRASHED = "crashed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class InstanceSpec:
    """Everything needed to start one instance; `env` is the full process environment."""

    name: str  # unique within a state folder: "{service}-{environment}-{group}-{index}"
    service: str
    environment: str
    version: str
    group: str  # colour for blue-green ("blue"/"green"); one group = one version
    argv: tuple[str, ...]
    cwd: Path
    env: dict[str, str] = field(repr=False)  # may hold resolved secrets: never log it
    port: int
    stop_timeout: float
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class InstanceStatus:
    """What the runtime knows about one managed instance right now."""

    name: str
    service: str
    environment: str
    version: str
    group: str
    port: int
    pid: int | None
    state: InstanceState
    log_file: Path
    detail: str = ""  # e.g. exit status or spawn error for crashed instances

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Runtime(Protocol):
    """Starts and stops instances; instances outlive the CLI process that started them."""

    def start(self, instances: Sequence[InstanceSpec]) -> None:
        """Start the instances (returns once their processes are spawned, not when ready)."""
        ...

    def stop(self, names: Sequence[str]) -> None:
        """Stop gracefully (SIGTERM, wait stop_timeout, SIGKILL) and forget the instances."""
        ...

    def list(
        self, service: str | None = None, environment: str | None = None
    ) -> list[InstanceStatus]:
        """Every managed instance, optionally filtered, with its live state."""
        ...

    def shutdown_if_idle(self) -> None:
        """Stop the runtime's own daemon when it manages no instance any more."""
        ...


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago on `host` (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
