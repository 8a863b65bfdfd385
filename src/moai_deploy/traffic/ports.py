"""Whether a port is free for a router, or held by given router processes, each finding
with its fix."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from moai_deploy.checks import Check
from moai_deploy.traffic.supervise.sockets import port_in_use

__all__ = ["held_by", "listening_inodes", "port_checks", "port_in_use"]

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port` (any address, IPv4 or IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if (
                len(fields) > 9
                and fields[3] == _LISTEN
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(fields[9])
    return inodes


def held_by(pids: Iterable[int], port: int) -> bool:
    """Whether one of `pids` holds a socket listening on `port`."""
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    if not wanted:
        return False
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        for name in names:
            try:
                if os.readlink(fd_dir / name) in wanted:
                    return True
            except OSError:
                continue
    return False


def port_checks(
    host: str, ports: Mapping[str, tuple[str, int]], busy: Callable[[str, int], bool]
) -> list[Check]:
    """`ports`: entrypoint -> (environment, port); `busy(environment, port)`: held by a
    process other than that environment's own router."""
    checks = []
    for entrypoint, (environment, port) in ports.items():
        name = f"port {host}:{port} ({entrypoint}) free"
        if not port_in_use(host, port):
            checks.append(Check(environment, name, True))
        elif not busy(environment, port):
            checks.append(Check(environment, name, True, "held by this environment's router"))
        else:
            fix = f"stop what listens on {port}, or give {environment} another `port:`"
            checks.append(Check(environment, name, False, "in use by another process", fix))
    return checks
