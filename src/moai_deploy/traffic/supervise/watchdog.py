"""The watchdog process: keeps an active and a warm standby router on the same ports.

Run as `python -I -m moai_deploy.traffic.supervise.watchdog CONFIG` (detached, by `Supervisor`).
Single-threaded on purpose: it forks router processes. See the package docstring for why
the kernel, not this loop, moves traffic to the standby when the active router dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from moai_deploy.traffic.supervise import sockets
from moai_deploy.traffic.supervise.program import Generation, Report, RouterProgram
from moai_deploy.traffic.supervise.ready import is_ready

WANTED = 2  # one serving, one warm standby
TICK = 0.02
READY_POLL = 0.05
ROTATE_EVERY = 2.0
STOP_GRACE = 15.0  # the router's own graceful shutdown, then SIGKILL
MAX_BACKOFF = 5.0
_FIRST_FD = 3


class Watchdog:
    """Spawns, reaps, checks and rotates; writes a Report to `state.json` on every change."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.state_file = config.with_name("state.json")
        self.program = RouterProgram.from_json(json.loads(config.read_text()))
        self.report = Report(os.getpid())
        self.orphans = self._orphans()  # routers of a watchdog that died; not our children
        self.stopping = False
        self.reload = False
        self.backoff = 0.0
        self.next_spawn = 0.0
        self.last_rotate = 0.0
        # The routers' stdout: ONE open file description that every generation shares and
        # the watchdog keeps, so that after a copy-and-truncate rotation it can put the
        # shared offset back to 0 and O_APPEND back on (HAProxy's first log line runs
        # fcntl(F_SETFL, O_NONBLOCK), which clears O_APPEND: without this, it wrote on at
        # its old offset after the truncation, and each rotation copied a growing sparse
        # file: 23 MB of backup after 30 releases, without bound).
        self.stdout_fd: int | None = None
        self.stdout_path = ""
        self.retired_at: dict[int, float] = {}  # pid -> when it was asked to stop

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> int:
        self._write()
        while not self.stopping:
            if self.reload:
                self._reload()
            self._reap()
            self._check_ready()
            self._retire_outdated()
            if not self._spawn_if_needed():
                return 2
            self._rotate_logs()
            time.sleep(TICK)
        self._stop_all()
        return 0

    def _current(self) -> list[Generation]:
        return [g for g in self.report.generations if g.fingerprint == self.program.fingerprint]

    def _spawn_if_needed(self) -> bool:
        current = self._current()
        warming = any(not g.ready for g in current)
        # Retired routers close their listeners when asked, not when they exit: a standby
        # spawned meanwhile could take the serving slot (404s until ready). It waits.
        retiring = bool(current) and len(current) < len(self.report.generations)
        if len(current) >= WANTED or warming or retiring or time.monotonic() < self.next_spawn:
            return True
        try:
            self._spawn()
        except OSError as exc:
            self.report.error = f"cannot listen: {exc}"
            self._write()
            if not self.report.generations:
                return False  # never served: the client reports the error
            self._delay_next_spawn()
        return True

    def _delay_next_spawn(self) -> None:
        self.backoff = min(MAX_BACKOFF, max(0.1, self.backoff * 2))
        self.next_spawn = time.monotonic() + self.backoff

    def _stdout(self) -> int | None:
        """The shared descriptor of the routers' stdout file (None: the watchdog's own)."""
        if self.program.stdout != self.stdout_path:
            if self.stdout_fd is not None:
                os.close(self.stdout_fd)
            self.stdout_fd, self.stdout_path = None, self.program.stdout
        if self.stdout_fd is None and self.stdout_path:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
            self.stdout_fd = os.open(self.stdout_path, flags, 0o600)
        return self.stdout_fd

    def _spawn(self) -> None:
        out = self._stdout()
        opened = [
            sockets.listen(spec.host, spec.port, shared=spec.shared) for spec in self.program.listen
        ]
        try:
            pid = os.fork()
            if pid == 0:  # child: only async-signal-safe work until exec
                self._exec_router([s.fileno() for s in opened], out)
            ports = {
                spec.name: sock.getsockname()[1]
                for spec, sock in zip(self.program.listen, opened, strict=True)
            }
        finally:
            for sock in opened:
                sock.close()  # the router holds them now: its death closes them at once
        self.report.generations.append(
            Generation(pid, ports, time.time(), fingerprint=self.program.fingerprint)
        )
        self.report.error = ""
        self._write()

    def _exec_router(self, fds: list[int], out: int | None) -> None:
        try:
            if out is not None:  # first: the listeners' targets 3..n may reuse its number
                os.dup2(out, 1)  # the shared description, inheritable as fd 1
            high = [os.dup(fd) for fd in fds]  # out of the way of the targets 3..n
            for index, fd in enumerate(high):
                os.dup2(fd, _FIRST_FD + index, inheritable=True)
            os.closerange(_FIRST_FD + len(fds), 1024)
            env = dict(self.program.env)
            env["LISTEN_FDS"] = str(len(fds))
            env["LISTEN_FDNAMES"] = ":".join(spec.name for spec in self.program.listen)
            env["LISTEN_PID"] = str(os.getpid())
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            os.execve(self.program.argv[0], list(self.program.argv), env)  # noqa: S606
        finally:
            os._exit(127)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid == 0:
                break
            self._forget(pid, f"pid {pid} exited with status {os.waitstatus_to_exitcode(status)}")
        for gen in [g for g in self.report.generations if g.pid in self.orphans]:
            if not _alive(gen.pid):
                self.orphans.discard(gen.pid)
                self._forget(gen.pid, f"adopted pid {gen.pid} exited")

    def _forget(self, pid: int, why: str) -> None:
        gens = self.report.generations
        index = next((i for i, g in enumerate(gens) if g.pid == pid), None)
        if index is None:
            return
        gone = gens[index]
        self.retired_at.pop(pid, None)
        # The kernel fills a closed listener's slot with the group's last one: mirror it.
        gens[index] = gens[-1]
        gens.pop()
        if not self.stopping and gone.fingerprint == self.program.fingerprint:
            self.report.restarts += 1
            self.report.last_exit = why
            if time.time() - gone.started < 5.0:
                self._delay_next_spawn()  # crash loop: slow down
            else:
                self.backoff = 0.0
        self._write()

    def _check_ready(self) -> None:
        for gen in self.report.generations:
            if not gen.ready and is_ready(self.program.ready, gen.ports, 0.5, gen.pid):
                gen.ready = True
                self._write()

    def _retire_outdated(self) -> None:
        """Once a current generation serves-ready, stop routers of an older configuration."""
        if not any(g.ready for g in self._current()):
            return
        now = time.monotonic()
        for gen in self.report.generations:
            if gen.fingerprint == self.program.fingerprint:
                continue
            if gen.exit_status is None:
                gen.exit_status = -self.program.stop_signal  # asked once; reaped later
                self.retired_at[gen.pid] = now
                with contextlib.suppress(ProcessLookupError):
                    os.kill(gen.pid, self.program.stop_signal)
            elif now - self.retired_at.get(gen.pid, now) > STOP_GRACE:  # the standby waits
                self.retired_at[gen.pid] = now
                with contextlib.suppress(ProcessLookupError):
                    os.kill(gen.pid, signal.SIGKILL)

    def _reload(self) -> None:
        self.reload = False
        self.program = RouterProgram.from_json(json.loads(self.config.read_text()))
        self.backoff, self.next_spawn = 0.0, 0.0
        self._write()

    def _rotate_logs(self) -> None:
        now = time.monotonic()
        if now - self.last_rotate < ROTATE_EVERY:
            return
        self.last_rotate = now
        rotated = False
        reopen = self.program.reopen_signal
        for name in self.program.log_files:
            path = Path(name)
            with contextlib.suppress(OSError):
                info = path.stat()
                # Bytes held, not the offset of the last one: a writer that lost O_APPEND
                # (an adopted router of a dead watchdog) leaves a hole at the start.
                if min(info.st_size, info.st_blocks * 512) > self.program.max_log_bytes:
                    backup = path.with_name(path.name + ".1")  # one backup: 2x the bound
                    if reopen:
                        path.replace(backup)
                    else:  # the routers' stdout: copied aside, emptied, written on from 0
                        shared = self.stdout_fd if name == self.stdout_path else None
                        _copy_and_truncate(path, backup, shared)
                    rotated = True
        if rotated and reopen:  # routers reopen their log files (Traefik: SIGUSR1)
            for gen in self.report.generations:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(gen.pid, reopen)

    def _stop_all(self) -> None:
        for gen in self.report.generations:
            with contextlib.suppress(ProcessLookupError):
                os.kill(gen.pid, self.program.stop_signal)
        deadline = time.monotonic() + STOP_GRACE
        while self.report.generations and time.monotonic() < deadline:
            self._reap()
            time.sleep(TICK)
        for gen in list(self.report.generations):
            with contextlib.suppress(ProcessLookupError):
                os.kill(gen.pid, signal.SIGKILL)
        while self.report.generations and time.monotonic() < deadline + 5.0:
            self._reap()
            time.sleep(TICK)
        self.report.generations = []
        self._write()

    # -- state ---------------------------------------------------------------------------

    def _orphans(self) -> set[int]:
        """Routers a previous watchdog left running: kept serving, retired once ours serve."""
        try:
            previous = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return set()
        adopted = []
        for data in previous.get("generations", []):
            gen = Generation.from_json(data)
            if _alive(gen.pid) and _runs(gen.pid, self.program.argv[0]):
                gen.fingerprint = "adopted"
                adopted.append(gen)
        self.report.generations = adopted
        return {g.pid for g in adopted}

    def _write(self) -> None:
        tmp = self.state_file.with_name(".state.json.tmp")
        tmp.write_text(json.dumps(self.report.to_json(), indent=1))
        os.replace(tmp, self.state_file)


def _copy_and_truncate(path: Path, backup: Path, shared: int | None = None) -> None:
    """Copy `path` to `backup` (0600), then empty it (lines appended in between are lost).
    `shared`: the writers' open file description, which gets O_APPEND back and offset 0 so
    they go on at the start of the emptied file rather than at their old offset."""
    if shared is not None:
        flags = fcntl.fcntl(shared, fcntl.F_GETFL)
        fcntl.fcntl(shared, fcntl.F_SETFL, flags | os.O_APPEND)
    tmp = backup.with_name(f".{backup.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out, path.open("rb") as src:
        for start, end in _data_ranges(src.fileno()):  # the lines, not a hole's zeros
            src.seek(start)
            left = end - start
            while left > 0 and (chunk := src.read(min(left, 1 << 20))):
                out.write(chunk)
                left -= len(chunk)
    os.replace(tmp, backup)
    os.truncate(path, 0)
    if shared is not None:
        os.lseek(shared, 0, os.SEEK_SET)


def _data_ranges(fd: int) -> list[tuple[int, int]]:
    """The (start, end) offsets of a file's data, holes left out."""
    ranges: list[tuple[int, int]] = []
    position = 0
    while True:
        try:
            start = os.lseek(fd, position, os.SEEK_DATA)
        except OSError:  # ENXIO: no data after `position`
            return ranges
        end = os.lseek(fd, start, os.SEEK_HOLE)
        ranges.append((start, end))
        position = end


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _runs(pid: int, program: str) -> bool:
    try:
        return program.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def main(argv: list[str]) -> int:
    os.umask(0o077)
    watchdog = Watchdog(Path(argv[0]))

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        watchdog.stopping = True

    def _reload(_signum: int, _frame: FrameType | None) -> None:
        watchdog.reload = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGHUP, _reload)
    return watchdog.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
