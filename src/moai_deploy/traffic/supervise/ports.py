"""A router's auxiliary port (metrics) that stays the same across restarts."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from moai_deploy.paths import private_file
from moai_deploy.runtime.base import free_port
from moai_deploy.traffic.supervise.sockets import port_in_use


def stable_port(path: Path, own: Collection[int]) -> int:
    """The port saved in `path` while it is ours or free; else a new free one, saved.
    Steered like the service ports, so a Prometheus scraping it follows a failover."""
    try:
        port = int(path.read_text())
    except (OSError, ValueError):
        port = 0
    if port and (port in own or not port_in_use("127.0.0.1", port)):
        return port
    port = free_port("127.0.0.1")
    private_file(path).write_text(f"{port}\n")
    return port
