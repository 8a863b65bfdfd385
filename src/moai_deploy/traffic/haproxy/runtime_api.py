"""HAProxy's runtime API over its unix socket (owner-only): one command per connection."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from moai_deploy.traffic.base import TrafficError

_CHUNK = 65536
_MAX_SOCKET_PATH = 100
# Forced, inherited, resolution and hostname maintenance. Not 0x04: HAProxy keeps that
# flag ("disabled in the configuration") on a slot that `set server state ready` revived.
_MAINTENANCE = 0x01 | 0x02 | 0x20 | 0x40


@contextlib.contextmanager
def _short(path: Path) -> Iterator[str]:
    """A connectable name for `path`: unix socket names are limited to ~100 bytes, so a
    long one is reached through a descriptor of its folder (/proc/self/fd/N/name)."""
    if len(os.fsencode(path)) < _MAX_SOCKET_PATH:
        yield str(path)
        return
    folder = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)


@dataclass(frozen=True)
class ServerState:
    """One line of `show servers state`: what HAProxy really does with a server."""

    backend: str
    name: str
    host: str
    port: int
    operational: int  # 0 stopped (down), 1 starting, 2 running (up), 3 soft-stopping
    admin: int  # bit flags, see _MAINTENANCE
    weight: int  # the user weight, as set by `set server ... weight`
    check_result: int = 0  # last health check: 0 unknown, 1 neutral, 2 failed, 3/4 passed

    @property
    def held_down(self) -> bool:
        """Down by a failed health check (not merely in maintenance or not yet checked)."""
        return self.operational == 0 and self.check_result == 2 and not self.in_maintenance

    @property
    def in_maintenance(self) -> bool:
        return bool(self.admin & _MAINTENANCE)


class RuntimeApi:
    """Sends commands to HAProxy's `stats socket` (admin level)."""

    def __init__(self, path: Path, timeout: float = 2.0) -> None:
        self._path = path
        self._timeout = timeout

    def run(self, command: str) -> str:
        """Send one command and return HAProxy's answer; TrafficError if unreachable."""
        if "\n" in command or ";" in command:
            raise TrafficError(f"one HAProxy command at a time, got {command!r}")
        try:
            with (
                socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock,
                _short(self._path) as at,
            ):
                sock.settimeout(self._timeout)
                sock.connect(at)
                sock.sendall(command.encode() + b"\n")
                chunks = []
                while chunk := sock.recv(_CHUNK):
                    chunks.append(chunk)
        except OSError as exc:
            raise TrafficError(f"HAProxy runtime API at {self._path}: {exc}") from exc
        return b"".join(chunks).decode(errors="replace")

    def must(self, command: str, ok: tuple[str, ...] = ("",)) -> str:
        """Run `command`; TrafficError unless the answer starts with one of `ok`."""
        answer = self.run(command)
        text = answer.strip()
        if not any(text.startswith(prefix) for prefix in ok) or (ok == ("",) and text):
            raise TrafficError(f"HAProxy refused {command!r}: {text}")
        return answer

    def servers(self, backend: str) -> dict[str, ServerState]:
        """`show servers state <backend>`, by server name."""
        answer = self.run(f"show servers state {backend}")
        states: dict[str, ServerState] = {}
        for line in answer.splitlines():
            fields = line.split()
            if len(fields) < 19 or line.startswith("#"):
                continue
            try:
                state = ServerState(
                    backend=fields[1],
                    name=fields[3],
                    host=fields[4],
                    port=int(fields[18]),
                    operational=int(fields[5]),
                    admin=int(fields[6]),
                    weight=int(fields[7]),
                    check_result=int(fields[11]),
                )
            except ValueError:
                continue
            states[state.name] = state
        if not states and "Can't find backend" in answer:
            raise TrafficError(f"HAProxy has no backend {backend!r}")
        return states
