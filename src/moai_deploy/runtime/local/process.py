"""What supervisord needs to run one instance as a process (the local driver's own spec)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class InstanceSpec:
    """Everything needed to start one process; `env` is the full process environment."""

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
