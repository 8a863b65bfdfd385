"""Start, refresh, inspect and stop the local monitoring stack of one project.

Prometheus (Debian `prometheus`) and Alertmanager (Debian `prometheus-alertmanager`) run as
detached processes with their ports, data and logs under STATE/monitor; `stack.json` holds
their ports and pids, and `down` stops exactly those pids (after checking each still runs
our configuration). Scrape targets are file_sd files rewritten from the runtime's instances
on `up` and after every release; the rules are the rendered `prometheus-rules`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from moai_deploy.errors import BadInputError, MoaiError
from moai_deploy.monitor import config, targets
from moai_deploy.monitor.config import StackPaths, StackPorts
from moai_deploy.monitor.targets import write_private
from moai_deploy.runtime.base import free_port

if TYPE_CHECKING:
    from moai_deploy.pipeline.project import Project

PARTS = ("prometheus", "alertmanager", "receiver")
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


class MonitorError(MoaiError):
    """The stack could not start (missing program, port taken, not ready in time)."""


@dataclass(frozen=True)
class PartStatus:
    name: str
    pid: int | None
    port: int
    alive: bool
    ready: bool


@dataclass
class StackState:
    ports: StackPorts
    pids: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"ports": asdict(self.ports), "pids": self.pids}, indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> StackState | None:
        try:
            data = json.loads(path.read_text())
            return cls(StackPorts(**data["ports"]), {k: int(v) for k, v in data["pids"].items()})
        except (OSError, ValueError, KeyError, TypeError):
            return None


def paths_of(project: Project) -> StackPaths:
    return stack_paths(project.layout.root, project.loaded.path)


def stack_paths(state_root: Path, spec: Path) -> StackPaths:
    """The stack's files under a state folder."""
    return StackPaths(state_root / "monitor", spec.resolve())


def _program(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise MonitorError(
        f"{names[0]} is not installed\n    fix: apt-get install prometheus prometheus-alertmanager"
    )


def _argv(part: str, paths: StackPaths, ports: StackPorts) -> list[str]:
    if part == "prometheus":
        return [
            _program("prometheus"),
            f"--config.file={paths.prometheus_config}",
            f"--storage.tsdb.path={paths.data('prometheus')}",
            f"--web.listen-address=127.0.0.1:{ports.prometheus}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=7d",
        ]
    if part == "alertmanager":
        return [
            _program("prometheus-alertmanager", "alertmanager"),
            f"--config.file={paths.alertmanager_config}",
            f"--storage.path={paths.data('alertmanager')}",
            f"--web.listen-address=127.0.0.1:{ports.alertmanager}",
            "--cluster.listen-address=",  # no gossip port: a single local instance
        ]
    receiver = [sys.executable, "-m", "moai_deploy.monitor.receiver", f"--port={ports.receiver}"]
    return [*receiver, f"--out={paths.alerts_log}", f"--spec={paths.spec}"]


def _ready_url(part: str, ports: StackPorts) -> str:
    port = asdict(ports)[part]
    path = "/health" if part == "receiver" else "/-/ready"
    return f"http://127.0.0.1:{port}{path}"


def _is_ours(pid: int, paths: StackPaths) -> bool:
    """The pid runs and its command line names this stack's folder (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return str(paths.root) in cmdline


def _start(part: str, paths: StackPaths, ports: StackPorts) -> subprocess.Popen[bytes]:
    paths.data(part).mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(paths.log(part), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as log:
        proc = subprocess.Popen(  # nosec B603 - argv list, our own programs
            _argv(part, paths, ports),
            cwd=paths.root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the CLI, like the instances
        )
    return proc


def _wait_ready(
    part: str, ports: StackPorts, proc: subprocess.Popen[bytes], paths: StackPaths
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = paths.log(part).read_text(errors="replace").splitlines()[-3:]
            raise MonitorError(f"{part} exited at start: {' | '.join(tail)}")
        try:
            if httpx.get(_ready_url(part, ports), timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise MonitorError(f"{part} not ready after {READY_TIMEOUT:g}s; see {paths.log(part)}")


def write_config(project: Project, paths: StackPaths, ports: StackPorts) -> None:
    """Rules, scrape targets and both configuration files, from the spec and the runtime."""
    spec = project.loaded.spec
    for stale in paths.rules.glob("*.yaml") if paths.rules.is_dir() else []:
        stale.unlink()
    for name, text in config.rule_files(spec).items():
        write_private(paths.rules / name, text)
    write_targets(project, paths)
    auth = {env: project.router_metrics_auth(env) for env in spec.environments}
    write_private(paths.prometheus_config, config.prometheus_config(spec, paths, ports, auth))
    write_private(paths.alertmanager_config, config.alertmanager_config(spec, ports))


def write_targets(project: Project, paths: StackPaths) -> int:
    """Rewrite every target file from the runtimes and the router; how many instances."""
    count = 0
    for environment in project.loaded.spec.environments:
        runtime = project.runtime_for(environment)
        found = runtime.list(project.service, environment)
        count += targets.write_environment_targets(paths.targets, environment, found)
    for environment in project.loaded.spec.environments:  # one router per environment
        url = project.router_metrics_url(environment)
        targets.write_router_target(paths.targets, project.service, environment, url)
    return count


def running_state(paths: StackPaths) -> StackState | None:
    """The stack's state when its Prometheus runs, else None."""
    state = StackState.load(paths.state_file)
    if state is None or not _is_ours(state.pids.get("prometheus", -1), paths):
        return None
    return state


def prometheus_url(project: Project) -> str | None:
    """The running stack's Prometheus, or None when `monitor up` has not been run."""
    state = running_state(paths_of(project))
    return f"http://127.0.0.1:{state.ports.prometheus}" if state else None


def up(project: Project) -> StackState:
    """Start whatever part is not running; idempotent."""
    paths = paths_of(project)
    project.layout.ensure()
    paths.root.mkdir(mode=0o700, exist_ok=True)
    state = StackState.load(paths.state_file)
    if state is None or not any(_is_ours(pid, paths) for pid in state.pids.values()):
        state = StackState(StackPorts(free_port(), free_port(), free_port()))
    write_config(project, paths, state.ports)
    for part in reversed(PARTS):  # the receiver first: Alertmanager delivers to it
        if not _is_ours(state.pids.get(part, -1), paths):
            proc = _start(part, paths, state.ports)
            state.pids[part] = proc.pid
            write_private(paths.state_file, state.to_json())
            _wait_ready(part, state.ports, proc, paths)
    write_private(paths.state_file, state.to_json())
    return state


def refresh(project: Project) -> bool:
    """After a release: new targets and rules, Prometheus reloaded. False when not up."""
    paths = paths_of(project)
    state = running_state(paths)
    if state is None:
        return False
    write_config(project, paths, state.ports)
    url = f"http://127.0.0.1:{state.ports.prometheus}/-/reload"
    try:
        httpx.post(url, timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        raise MonitorError(f"Prometheus did not reload its configuration: {exc}") from None
    return True


def _stop(pid: int, paths: StackPaths, wait: Callable[[float], None] = time.sleep) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while _is_ours(pid, paths) and time.monotonic() < deadline:
        _reap(pid)
        wait(0.1)
    if _is_ours(pid, paths):
        os.kill(pid, signal.SIGKILL)
        _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):  # ours only when `up` ran in this process
        os.waitpid(pid, os.WNOHANG)


def down(project: Project) -> list[str]:
    """Stop the stack's processes by their recorded pids; which parts were stopped."""
    paths = paths_of(project)
    state = StackState.load(paths.state_file)
    if state is None:
        return []
    stopped = []
    for part in PARTS:
        pid = state.pids.get(part)
        if pid is not None and _is_ours(pid, paths):
            _stop(pid, paths)
            stopped.append(part)
    paths.state_file.unlink(missing_ok=True)
    return stopped


def status(project: Project) -> list[PartStatus]:
    """Each part: pid, port, whether it runs and answers its readiness check."""
    paths = paths_of(project)
    state = StackState.load(paths.state_file)
    if state is None:
        raise BadInputError("the monitoring stack is not running\n    fix: moai-deploy monitor up")
    found = []
    for part in PARTS:
        pid = state.pids.get(part)
        alive = pid is not None and _is_ours(pid, paths)
        ready = False
        if alive:
            try:
                ready = httpx.get(_ready_url(part, state.ports), timeout=2).status_code == 200
            except httpx.HTTPError:
                ready = False
        found.append(PartStatus(part, pid, asdict(state.ports)[part], alive, ready))
    return found
