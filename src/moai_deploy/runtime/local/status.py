"""Per-instance files next to the program conf, and supervisord states -> InstanceStatus."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moai_deploy.paths import write_private
from moai_deploy.runtime.base import InstanceState, InstanceStatus
from moai_deploy.runtime.local.process import InstanceSpec

_STATES = {
    "STARTING": InstanceState.STARTING,
    "RUNNING": InstanceState.RUNNING,
    "STOPPING": InstanceState.STOPPING,
    "STOPPED": InstanceState.STOPPED,
    "EXITED": InstanceState.CRASHED,  # autorestart=true: every exit we did not ask for
    "BACKOFF": InstanceState.CRASHED,
    "FATAL": InstanceState.CRASHED,
}
STOPPED_STATES = frozenset({"STOPPED", "EXITED", "FATAL"})
ORPHAN_DETAIL = "outlived its supervisord; the next start or stop takes it over (by pid)"


@dataclass(frozen=True)
class InstanceFiles:
    """Files kept for one instance under `programs/` (all 0600: the spec holds the env)."""

    programs: Path
    name: str

    @property
    def conf(self) -> Path:
        return self.programs / f"{self.name}.conf"

    @property
    def spec(self) -> Path:  # metadata + env + restart budget, read by launch.py and list()
        return self.programs / f"{self.name}.json"

    @property
    def spawn_log(self) -> Path:  # written by launch.py on every spawn
        return self.programs / f"{self.name}.spawns"

    def write(self, conf_text: str, spec_data: dict[str, Any]) -> None:
        """Write the spec, then the conf (which makes the instance visible to supervisord)."""
        self.spawn_log.unlink(missing_ok=True)
        write_private(self.spec, json.dumps(spec_data))
        write_private(self.conf, conf_text)

    @property
    def pid_file(self) -> Path:  # "pid starttime", written by launch.py before it execs
        return self.programs / f"{self.name}.pid"

    def remove(self) -> None:
        for path in (self.conf, self.spec, self.spawn_log, self.pid_file):
            path.unlink(missing_ok=True)

    def live_pid(self) -> int | None:
        """The pid launch.py last recorded, if that very process still runs (not a zombie,
        not a reused pid): an instance that outlived its supervisord."""
        try:
            pid_text, start = self.pid_file.read_text().split()
            pid = int(pid_text)
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            return None
        return pid if stat[0] != "Z" and stat[19] == start else None

    def metadata(self) -> dict[str, Any]:
        """The non-secret metadata of the instance ({} if the spec file is unreadable)."""
        try:
            meta: dict[str, Any] = json.loads(self.spec.read_text())["meta"]
        except (OSError, ValueError, KeyError, TypeError):
            return {}
        return meta

    def spawns(self) -> tuple[int, bool]:
        """(spawns recorded by launch.py in the current window, whether it gave up)."""
        try:
            log = json.loads(self.spawn_log.read_text())
            return len(log.get("times", [])), bool(log.get("gave_up"))
        except (OSError, ValueError, AttributeError):
            return 0, False


def spec_data(
    spec: InstanceSpec, spawn_log: Path, restart_budget: tuple[int, float]
) -> dict[str, Any]:
    """What launch.py needs (env, restart budget) plus the metadata list() rebuilds from."""
    meta = {
        "service": spec.service,
        "environment": spec.environment,
        "version": spec.version,
        "group": spec.group,
        "port": spec.port,
        "log_file": str(spec.log_file),
        "stop_timeout": spec.stop_timeout,
    }
    limit, window = restart_budget
    return {
        "meta": meta,
        "env": dict(spec.env),
        "spawn_log": str(spawn_log),
        "restart_limit": limit,
        "restart_window": window,
    }


def _detail(info: dict[str, Any], spawns: int, log_file: object) -> str:
    # supervisord keeps no exit status for exits within startsecs (BACKOFF/FATAL): say so.
    statename = info.get("statename", "")
    spawnerr = info.get("spawnerr") or "could not be started"
    if statename == "BACKOFF":
        return f"restarting after crash ({max(spawns, 1)}): {spawnerr}; log: {log_file}"
    if statename == "FATAL":
        return f"gave up after {max(spawns, 1)} quick crashes: {spawnerr}; log: {log_file}"
    if statename == "EXITED":
        return f"exited unexpectedly with exit status {info.get('exitstatus')}; log: {log_file}"
    if statename in ("STARTING", "RUNNING") and spawns > 1:
        return f"restarted {spawns - 1} times after crashes"
    return ""


def to_status(
    name: str, info: dict[str, Any] | None, files: InstanceFiles, absent: str = ""
) -> InstanceStatus:
    """An InstanceStatus from supervisord's process info (None: not there, `absent` says why)."""
    meta = files.metadata()
    orphan = files.live_pid() if info is None or info.get("statename") in STOPPED_STATES else None
    if orphan is not None:  # supervisord died (or restarted) and this process outlived it
        state, pid, detail = InstanceState.RUNNING, orphan, ORPHAN_DETAIL
    elif info is None:
        state, pid, detail = InstanceState.STOPPED, None, absent
    else:
        spawns, gave_up = files.spawns()
        state = _STATES.get(str(info.get("statename")), InstanceState.UNKNOWN)
        pid = int(info.get("pid") or 0) or None
        detail = _detail(info, spawns, meta.get("log_file"))
        if gave_up and state not in (
            InstanceState.STOPPING,
            InstanceState.STOPPED,
        ):  # launch.py refuses every spawn now; supervisord is about to reach FATAL
            state, pid = InstanceState.CRASHED, None
            detail = f"gave up after {spawns - 1} restarts; log: {meta.get('log_file')}"
    return InstanceStatus(
        name=name,
        service=str(meta.get("service", "")),
        environment=str(meta.get("environment", "")),
        version=str(meta.get("version", "")),
        group=str(meta.get("group", "")),
        url=f"http://127.0.0.1:{int(meta.get('port', 0))}",
        port=int(meta.get("port", 0)),
        pid=pid,
        state=state,
        log_file=Path(meta.get("log_file", "")),
        detail=detail,
    )
