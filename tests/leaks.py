"""Find processes the test session started and left running (Traefik, supervisord, instances).

A process belongs to the session when its working directory or its command line lies inside
the session's pytest base temp folder: every Traefik, supervisord and instance the tests start
has its state folder (and cwd) there, and nothing else on the machine does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Leak:
    pid: int
    cmdline: str
    cwd: str

    def describe(self) -> str:
        return f"pid {self.pid} (cwd {self.cwd}): {self.cmdline[:200]}"


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def find_leaks(base: Path) -> list[Leak]:
    """Live processes (not this one, not zombies) whose cwd or argv is under `base`."""
    marker = str(base.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue  # gone, or not ours to inspect
        inside = cwd == marker or cwd.startswith(marker + os.sep) or (marker + os.sep) in cmdline
        if inside and not _is_zombie(int(entry.name)):
            found.append(Leak(int(entry.name), cmdline.strip(), cwd))
    return found


def wait_for_no_leaks(base: Path, grace: float) -> list[Leak]:
    """The leaks still alive after `grace` seconds (processes being stopped may finish)."""
    deadline = time.monotonic() + grace
    leaks = find_leaks(base)
    while leaks and time.monotonic() < deadline:
        time.sleep(0.2)
        leaks = find_leaks(base)
    return leaks


def kill(leaks: list[Leak]) -> None:
    """SIGKILL the given leaked processes (each started by this session, by construction)."""
    for leak in leaks:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(leak.pid, signal.SIGKILL)
