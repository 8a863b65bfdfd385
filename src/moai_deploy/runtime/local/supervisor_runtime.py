"""The local Runtime: instances are supervisord programs, one daemon per state folder."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import moai_deploy.runtime.local.launch as launch_module
from moai_deploy.errors import BadInputError
from moai_deploy.runtime.base import InstanceStatus
from moai_deploy.runtime.local.conf import program_conf
from moai_deploy.runtime.local.daemon import (
    SupervisorDaemon,
    SupervisorError,
    pid_alive,
    wait_until,
)
from moai_deploy.runtime.local.process import InstanceSpec
from moai_deploy.runtime.local.status import STOPPED_STATES, InstanceFiles, spec_data, to_status

# supervisord sends SIGKILL after stopwaitsecs; this is how much longer we wait for the exit.
STOP_MARGIN = 10.0


class SupervisorRuntime:
    """Runtime backed by a daemonized supervisord driven over XML-RPC on a unix socket.

    `root` is the state folder's `supervisor/` dir. Each instance is a program group named
    after it, configured by `root/programs/<name>.conf` plus `<name>.json` (metadata, env and
    restart budget: at most `restart_limit` restarts within `restart_window` seconds).
    """

    def __init__(
        self, root: Path, *, restart_limit: int = 5, restart_window: float = 600.0
    ) -> None:
        if restart_limit < 0 or restart_window <= 0:
            raise ValueError("restart_limit must be >= 0 and restart_window > 0")
        self.root = root.absolute()  # written into configs read by a daemon with another cwd
        self.programs = self.root / "programs"
        self.daemon = SupervisorDaemon(self.root)
        self._budget = (restart_limit, restart_window)

    def _files(self, name: str) -> InstanceFiles:
        return InstanceFiles(self.programs, name)

    def _prepare_root(self) -> Path:
        """Create the private folders and refresh the exec wrapper; its path."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.root.chmod(0o700)
        self.programs.mkdir(mode=0o700, exist_ok=True)
        launcher = self.root / "launch.py"
        source = Path(launch_module.__file__).read_text()
        if not launcher.exists() or launcher.read_text() != source:
            launcher.write_text(source)
        return launcher

    def start(self, instances: Sequence[InstanceSpec]) -> None:
        """Start the instances (returns once spawned); a same-named instance is replaced."""
        names = [spec.name for spec in instances]
        if len(set(names)) != len(names):
            raise BadInputError(f"duplicate instance names in {names}")
        if not instances:
            return
        launcher = self._prepare_root()
        launch_argv = [sys.executable, "-I", str(launcher)]
        # Render everything first: a bad value must fail before anything is touched.
        rendered = [
            (spec, program_conf(spec, [*launch_argv, str(self._files(spec.name).spec)]))
            for spec in instances
        ]
        with self.daemon.lock():
            self.daemon.ensure_running()
            self.stop(names)
            for spec, conf_text in rendered:
                spec.log_file.parent.mkdir(parents=True, exist_ok=True)
                files = self._files(spec.name)
                files.write(conf_text, spec_data(spec, files.spawn_log, self._budget))
            rpc = self.daemon.rpc()
            _call(rpc.supervisor.reloadConfig)
            for name in names:
                _call(rpc.supervisor.addProcessGroup, name)
                _call(rpc.supervisor.startProcessGroup, name, False)

    def stop(self, names: Sequence[str]) -> None:
        """Stop all given instances concurrently (TERM, KILL after stop_timeout), forget them."""
        wanted = list(dict.fromkeys(names))
        if self.daemon.is_running():
            rpc = self.daemon.rpc()
            loaded = {info["group"] for info in _call(rpc.supervisor.getAllProcessInfo)}
            targets = [name for name in wanted if name in loaded]
            if targets:
                self._stop_and_remove(rpc, targets)
        self._stop_orphans(wanted)
        removed = [name for name in wanted if self._files(name).conf.exists()]
        for name in removed:
            self._files(name).remove()
        if removed and self.daemon.is_running():
            _call(self.daemon.rpc().supervisor.reloadConfig)

    def _stop_orphans(self, names: list[str]) -> None:
        """Instances whose supervisord died still run: stop their process groups by pid
        (TERM, KILL after stop_timeout), concurrently, and wait until they are gone."""
        orphans = {name: pid for name in names if (pid := self._files(name).live_pid())}
        if not orphans:
            return
        timeout = max(
            float(self._files(name).metadata().get("stop_timeout", 10.0)) for name in orphans
        )
        for pid in orphans.values():
            _signal_group(pid, signal.SIGTERM)
        if not wait_until(lambda: not any(map(pid_alive, orphans.values())), timeout):
            for pid in orphans.values():
                _signal_group(pid, signal.SIGKILL)
        if not wait_until(lambda: not any(map(pid_alive, orphans.values())), STOP_MARGIN):
            alive = sorted(pid for pid in orphans.values() if pid_alive(pid))
            raise SupervisorError(f"instances with pids {alive} survived SIGKILL")

    def _stop_and_remove(self, rpc: Any, targets: list[str]) -> None:
        timeouts = [
            float(self._files(name).metadata().get("stop_timeout", 10.0)) for name in targets
        ]
        deadline = time.monotonic() + max(timeouts) + STOP_MARGIN
        pending = set(targets)
        while pending:
            # wait=False: signal every instance first, so their stop timeouts run in parallel.
            for name in pending:
                _call(rpc.supervisor.stopProcessGroup, name, False)
            remaining = max(deadline - time.monotonic(), 0.0)
            wait_until(lambda: self._all_stopped(rpc, pending), remaining, interval=0.1)
            for name in sorted(pending):
                if self._remove_group(rpc, name, deadline):
                    pending.discard(name)

    @staticmethod
    def _all_stopped(rpc: Any, names: Iterable[str]) -> bool:
        wanted = set(names)
        infos = _call(rpc.supervisor.getAllProcessInfo)
        return all(info["statename"] in STOPPED_STATES for info in infos if info["group"] in wanted)

    @staticmethod
    def _remove_group(rpc: Any, name: str, deadline: float) -> bool:
        """True once the group is gone; False to retry (an exit raced with autorestart)."""
        import xmlrpc.client  # nosec B411 - only our own supervisord, on a 0700 unix socket

        from supervisor.xmlrpc import Faults  # loaded only when a daemon runs (CLI start-up)

        try:
            rpc.supervisor.removeProcessGroup(name)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode == Faults.BAD_NAME:
                return True
            if fault.faultCode == Faults.STILL_RUNNING and time.monotonic() < deadline:
                return False
            raise SupervisorError(f"cannot remove instance {name}: {fault.faultString}") from None
        return True

    def list(
        self, service: str | None = None, environment: str | None = None
    ) -> list[InstanceStatus]:
        """Every managed instance, optionally filtered; never starts supervisord."""
        names = {path.stem for path in self.programs.glob("*.conf")}
        infos: dict[str, dict[str, Any]] = {}
        absent = "supervisord is not running"
        if self.daemon.is_running():
            infos = {i["group"]: i for i in _call(self.daemon.rpc().supervisor.getAllProcessInfo)}
            absent = "not loaded in supervisord"
        statuses = [
            to_status(name, infos.get(name), self._files(name), absent)
            for name in sorted(names | set(infos))
        ]
        return [
            status
            for status in statuses
            if (service is None or status.service == service)
            and (environment is None or status.environment == environment)
        ]

    def shutdown_if_idle(self) -> None:
        """Shut supervisord down (and wait for its exit) when it manages no instance."""
        if not self.daemon.is_running():
            return
        with self.daemon.lock():
            if not self.daemon.is_running() or any(self.programs.glob("*.conf")):
                return
            if _call(self.daemon.rpc().supervisor.getAllProcessInfo):
                return
            self.daemon.shutdown()


def _signal_group(pid: int, signum: int) -> None:
    # supervisord made each instance a process group leader (setpgrp): its children too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _call(method: Any, *args: Any) -> Any:
    """One XML-RPC call; supervisord faults become SupervisorError (args may be names only)."""
    import xmlrpc.client  # nosec B411 - only our own supervisord, on a 0700 unix socket

    try:
        return method(*args)
    except xmlrpc.client.Fault as fault:
        raise SupervisorError(f"supervisord refused the request: {fault.faultString}") from None
