"""One supervisord per state folder: start it on demand, talk XML-RPC to it, shut it down."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from moai_deploy.errors import MoaiError
from moai_deploy.paths import PRIVATE_UMASK, exclusive_lock, private_file
from moai_deploy.runtime.local.conf import daemon_conf

START_TIMEOUT = 15.0
SHUTDOWN_TIMEOUT = 30.0
_SUN_PATH_MAX = 100  # sockaddr_un.sun_path is 108 bytes on Linux, less on macOS
# supervisord lives long after the CLI that started it: hand it only what it needs, never the
# CLI's environment (which may hold secrets). Instances get their env from launch.py anyway.
_DAEMON_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")


class SupervisorError(MoaiError):
    """supervisord could not be started or did not answer as expected."""


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (an unreaped orphan counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> bool:
    """Poll `predicate()` until it is true or `timeout` seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval)
    return True


class SupervisorDaemon:
    """The supervisord process that owns `root` (config, socket, pid file and log live there)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf = root / "supervisord.conf"
        self.pidfile = root / "supervisord.pid"
        self.logfile = root / "supervisord.log"
        self.socket = self._socket_path()

    def _socket_path(self) -> Path:
        sock = self.root / "supervisor.sock"
        if len(os.fsencode(sock)) <= _SUN_PATH_MAX:
            return sock
        # Deep project folders overflow sun_path: use a private per-user dir keyed by root.
        digest = hashlib.sha256(os.fsencode(self.root)).hexdigest()[:16]
        base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
        return base / f"moai-deploy-{os.getuid()}" / f"{digest}.sock"

    def rpc(self) -> Any:
        """A fresh XML-RPC proxy (`.supervisor.*` methods) over the unix socket."""
        # Loaded only when a daemon is there to ask: `moai-deploy status` start-up.
        import xmlrpc.client  # nosec B411 - only our own supervisord, on a 0700 unix socket

        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def is_running(self) -> bool:
        """True when a supervisord answers on our socket."""
        if not self.socket.exists():
            return False  # nothing to ask (and no XML-RPC client to load: CLI start-up)
        import http.client
        import xmlrpc.client  # nosec B411 - only our own supervisord, on a 0700 unix socket

        for _attempt in range(3):
            try:
                state = self.rpc().supervisor.getState()
            except (FileNotFoundError, ConnectionRefusedError):
                return False  # no socket, or a stale one nobody listens on
            except (OSError, http.client.HTTPException, xmlrpc.client.Error):
                # Transient (busy or restarting daemon): a false "not running" would make
                # stop() forget instances that still run, so ask again before answering.
                time.sleep(0.1)
                continue
            return bool(state.get("statename") == "RUNNING")
        return False

    def ensure_running(self) -> None:
        """Start supervisord unless it already answers; waits (bounded) until it does.

        Call with `lock()` held: two CLI processes must not race to start two daemons.
        """
        if self.is_running():
            return
        self._spawn()
        if not wait_until(self.is_running, START_TIMEOUT):
            raise SupervisorError(
                f"supervisord did not answer on {self.socket} within {START_TIMEOUT:.0f}s; "
                f"see {self.logfile}"
            )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive across processes: held while starting or shutting down the daemon."""
        with exclusive_lock(self.root / ".daemon.lock"):
            yield

    def _spawn(self) -> None:
        self.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.socket.parent.stat().st_uid != os.getuid():  # e.g. a planted /tmp folder
            raise SupervisorError(f"{self.socket.parent} belongs to another user")
        self.conf.write_text(daemon_conf(self.root, self.socket))
        self.conf.chmod(0o600)
        private_file(self.logfile)  # a log an earlier version made 0644
        env = {key: os.environ[key] for key in _DAEMON_ENV_KEYS if key in os.environ}
        # -I: a `supervisor/` folder in the cwd must not shadow the real package.
        argv = [sys.executable, "-I", "-m", "supervisor.supervisord", "-c", str(self.conf)]
        # supervisord binds the socket, then forks: the parent exits and the daemon (setsid,
        # stdio on /dev/null) outlives us. A stale socket from a dead daemon is unlinked by it.
        # umask: its own log is opened before it applies `umask=077` from the config.
        proc = subprocess.run(
            argv,
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            umask=PRIVATE_UMASK,
        )
        if proc.returncode != 0:
            output = (proc.stderr or proc.stdout).strip()[-2000:]
            raise SupervisorError(f"supervisord failed to start (exit {proc.returncode}): {output}")

    def shutdown(self) -> None:
        """Ask supervisord to exit (it stops remaining programs) and wait until it is gone."""
        import xmlrpc.client  # nosec B411 - only our own supervisord, on a 0700 unix socket

        try:
            pid = int(self.rpc().supervisor.getPID())
            self.rpc().supervisor.shutdown()
        except (OSError, xmlrpc.client.Error):
            return  # not running (or already shutting down)
        if not wait_until(lambda: not pid_alive(pid), SHUTDOWN_TIMEOUT):
            raise SupervisorError(f"supervisord (pid {pid}) did not exit; see {self.logfile}")
        wait_until(lambda: not self.socket.exists(), 2.0)
