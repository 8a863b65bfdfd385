"""Instance logs of the local runtime, one folder per release:
`logs/ENVIRONMENT/release-N/INSTANCE.log`, so a release never inherits an earlier one's
lines even though blue-green reuses instance names. supervisord rotates each file by size
(`INSTANCE.log.1` is the newest backup).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

_BACKUP = re.compile(r"^(?P<name>.+)\.log(?:\.(?P<n>\d+))?$")
_RELEASE = re.compile(r"^release-(?P<id>\d+)$")


def log_path(logs_root: Path, environment: str, release: int | None, name: str) -> Path:
    """Where an instance of `release` writes (releases without an id: the flat folder)."""
    if release is None:
        return logs_root / f"{name}.log"
    return logs_root / environment / f"release-{release}" / f"{name}.log"


@dataclass(frozen=True)
class LogFile:
    """One instance's log of one release, with its rotated backups oldest first."""

    environment: str
    release: int
    instance: str
    paths: tuple[Path, ...]

    @property
    def current(self) -> Path:
        return self.paths[-1]

    def modified(self) -> float:
        return max((p.stat().st_mtime for p in self.paths if p.exists()), default=0.0)


def _files_of(folder: Path) -> dict[str, list[tuple[int, Path]]]:
    found: dict[str, list[tuple[int, Path]]] = {}
    for path in folder.iterdir():
        match = _BACKUP.match(path.name)
        if match and path.is_file():
            order = -int(match["n"]) if match["n"] else 0  # .log.3 < .log.2 < .log.1 < .log
            found.setdefault(match["name"], []).append((order, path))
    return found


def release_logs(
    logs_root: Path, environment: str, release: int | None = None, instance: str | None = None
) -> list[LogFile]:
    """The environment's log files, by release then instance, optionally narrowed."""
    base = logs_root / environment
    if not base.is_dir():
        return []
    result: list[LogFile] = []
    for folder in sorted(base.iterdir(), key=lambda p: p.name):
        match = _RELEASE.match(folder.name)
        if (
            not match
            or not folder.is_dir()
            or (release is not None and int(match["id"]) != release)
        ):
            continue
        for name, paths in sorted(_files_of(folder).items()):
            if instance is None or instance == name:
                ordered = tuple(p for _, p in sorted(paths))
                result.append(LogFile(environment, int(match["id"]), name, ordered))
    return sorted(result, key=lambda f: (f.release, f.instance))


def tail(log: LogFile, lines: int) -> list[str]:
    """The last `lines` lines across the file and its backups."""
    collected: list[str] = []
    for path in reversed(log.paths):
        text = path.read_text(errors="replace").splitlines() if path.exists() else []
        collected = text + collected
        if len(collected) >= lines:
            break
    return collected[-lines:] if lines > 0 else []


def follow(
    logs: Callable[[], list[LogFile]],
    emit: Callable[[LogFile, str], None],
    keep_going: Callable[[], bool],
    poll: float = 0.1,
) -> None:
    """Emit each line appended to any current log file (new files are picked up from their
    start), polling every `poll` seconds while `keep_going()`; a rotated file (a new inode,
    or a shorter one) is read again from its start."""
    offsets: dict[Path, tuple[int, int]] = {log.current: _where(log.current) for log in logs()}
    while keep_going():
        for log in logs():
            for line in _new_lines(log.current, offsets):
                emit(log, line)
        time.sleep(poll)


def _where(path: Path) -> tuple[int, int]:
    """(inode, size) of the file; (0, 0) while it does not exist."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return 0, 0
    return info.st_ino, info.st_size


def _new_lines(path: Path, offsets: dict[Path, tuple[int, int]]) -> Iterator[str]:
    inode, size = _where(path)
    known_inode, start = offsets.get(path, (inode, 0))
    if inode != known_inode or size < start:  # rotated: a new file started over
        start = 0
    if size == start:
        offsets[path] = (inode, start)
        return
    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read(size - start)
    complete = data.rfind(b"\n") + 1  # hold back a partial last line until it ends
    offsets[path] = (inode, start + complete)
    yield from data[:complete].decode(errors="replace").splitlines()
