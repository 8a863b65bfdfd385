"""How a workload becomes a container: labels, a port on 127.0.0.1, limits, a read-only
root filesystem, tmpfs mounts, named volumes for shared paths, and secrets as files.

Secrets never go into the container's configuration (which `docker inspect` shows): each
secret is a file `/run/secrets/NAME`, and variables whose value uses a secret are files
under `/run/secrets/.env/`, exported by a fixed `sh` prelude just before the command runs
(user values are arguments of `exec "$@"`, never shell text). The files live in a 0700
folder on the host's tmpfs (/dev/shm), bind-mounted read-only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moai_deploy.runtime.base import InstanceState, InstanceStatus, SharedPath, WorkloadEnv
from moai_deploy.runtime.docker.images import LABEL
from moai_deploy.spec.targets import ResourcesSpec

SECRETS_MOUNT = "/run/secrets"
ENV_PRELUDE = (
    'for f in /run/secrets/.env/*; do [ -f "$f" ] && export "${f##*/}=$(cat "$f")"; done; exec "$@"'
)
_STATES = {
    "created": InstanceState.STARTING,
    "running": InstanceState.RUNNING,
    "restarting": InstanceState.CRASHED,
    "exited": InstanceState.CRASHED,  # we remove what we stop: any exit was not asked for
    "dead": InstanceState.CRASHED,
    "removing": InstanceState.STOPPING,
    "paused": InstanceState.UNKNOWN,
}


def nano_cpus(quantity: str) -> int:
    """Kubernetes CPU quantity (250m, 1, 1.5) in Docker's nano CPUs."""
    if quantity.endswith("m"):
        return int(quantity[:-1]) * 1_000_000
    return int(float(quantity) * 1_000_000_000)


def memory_bytes(quantity: str) -> int:
    """Kubernetes memory quantity (512Mi, 1Gi) in bytes."""
    units = {"Mi": 2**20, "Gi": 2**30}
    return int(quantity[:-2]) * units[quantity[-2:]]


@dataclass(frozen=True)
class SecretStore:
    """Per-container secret folders on a tmpfs, private to the deploying user."""

    root: Path

    @classmethod
    def for_scope(cls, scope: str) -> SecretStore:
        shm = Path("/dev/shm")  # noqa: S108  # nosec B108 - a tmpfs: secrets stay off disk
        base = shm if shm.is_dir() else Path("/run")
        return cls(base / f"moai-deploy-{os.getuid()}" / scope)

    def write(self, container: str, env: WorkloadEnv) -> Path | None:
        """The folder to mount at /run/secrets, or None when there is no secret."""
        if not env.secrets and not env.secret:
            return None
        self.root.parent.mkdir(mode=0o700, exist_ok=True)
        self.root.parent.chmod(0o700)  # the private gate: nobody else gets past it
        self.root.mkdir(mode=0o700, exist_ok=True)
        folder = self.root / container
        self.remove(container)
        (folder / ".env").mkdir(parents=True)
        for name, value in env.secrets.items():
            _write_readable(folder / name, value)
        for key, value in env.secret.items():
            _write_readable(folder / ".env" / key, value)
        for path in (folder / ".env", folder):
            path.chmod(0o555)  # the container's non-root user reads them; only through here
        return folder

    def remove(self, container: str) -> None:
        folder = self.root / container
        if folder.exists():
            for path in (folder, folder / ".env"):
                if path.exists():
                    path.chmod(0o700)
            shutil.rmtree(folder, ignore_errors=True)


def _write_readable(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)


@dataclass(frozen=True)
class RunOptions:
    """What every container of one environment shares."""

    read_only: bool
    tmpfs: Mapping[str, str]
    resources: ResourcesSpec
    container_port: int
    workdir: str  # e.g. /app


def host_config(
    options: RunOptions,
    secrets: Path | None,
    shared: tuple[SharedPath, ...],
    volume_prefix: str,
) -> dict[str, Any]:
    """Keyword arguments of `containers.create` for limits, filesystem and mounts."""
    volumes: dict[str, dict[str, str]] = {}
    if secrets is not None:
        volumes[str(secrets)] = {"bind": SECRETS_MOUNT, "mode": "ro"}
    for item in shared:
        path = f"{options.workdir.rstrip('/')}/{item.path}"
        volumes[f"{volume_prefix}-{item.name}"] = {"bind": path, "mode": "rw"}
    return {
        "nano_cpus": nano_cpus(options.resources.cpu_limit),
        "mem_limit": memory_bytes(options.resources.memory_limit),
        "read_only": options.read_only,
        "tmpfs": dict(options.tmpfs),
        "volumes": volumes,
        # An init as pid 1 forwards SIGTERM: a server still starting (no handler yet) stops
        # at once instead of ignoring it, as pid 1 does, until the SIGKILL.
        "init": True,
        "security_opt": ["no-new-privileges"],
        "cap_drop": ["ALL"],
    }


def entrypoint(env: WorkloadEnv) -> list[str] | None:
    """The prelude that exports secret-valued variables from files (None: not needed)."""
    return ["/bin/sh", "-c", ENV_PRELUDE, "moai-deploy"] if env.secret else None


def to_status(container: Any, scope: str) -> InstanceStatus:
    """An InstanceStatus from a container's labels and state."""
    labels: dict[str, str] = container.labels
    state = container.attrs.get("State", {})
    status = str(state.get("Status", "unknown"))
    port = int(labels.get(f"{LABEL}.port", "0"))
    detail = ""
    if status in ("exited", "dead", "restarting"):
        detail = f"container {status}, exit code {state.get('ExitCode')}"
        if state.get("Error"):
            detail += f": {state['Error']}"
        if state.get("OOMKilled"):
            detail += " (killed: out of memory)"
    return InstanceStatus(
        name=labels.get(f"{LABEL}.name", container.name),
        service=labels.get(f"{LABEL}.service", ""),
        environment=labels.get(f"{LABEL}.environment", ""),
        version=labels.get(f"{LABEL}.version", ""),
        group=labels.get(f"{LABEL}.group", ""),
        url=f"http://127.0.0.1:{port}",
        state=_STATES.get(status, InstanceState.UNKNOWN),
        port=port,
        pid=int(state.get("Pid") or 0) or None,
        detail=detail,
        ident=str(container.id)[:12],
    )
