"""The runtime protocol: where a release runs.

A runtime driver owns everything that depends on the place a release runs: preparing the
release's artifact (local: snapshot + Python environment; docker: an image), starting,
stopping and listing its workloads, their logs, the endpoints the traffic router sends
to, one-off commands in a release's artifact and persistent shared paths. The rollout
engine, the strategies, analysis and `pipeline/` only see this module.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from moai_deploy.checks import Check
from moai_deploy.errors import MoaiError


class InstanceState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    CRASHED = "crashed"
    UNKNOWN = "unknown"

    @property
    def alive(self) -> bool:
        """Started and not stopped or crashed. supervisord says STARTING for the first
        `startsecs` even of an instance that already serves: a release begun that soon after
        the last one must still see it as the stable version, not as nothing running."""
        return self in (InstanceState.STARTING, InstanceState.RUNNING)


class RuntimeUnavailableError(MoaiError):
    """The runtime's engine cannot be reached (e.g. no Docker daemon); the message says why
    and how to fix it. Nothing was released (exit 1)."""


@dataclass(frozen=True)
class ReleaseSource:
    """The code of one release, as the driver gets it to build an artifact from."""

    service: str
    version: str
    snapshot: Path  # the release's files (a `git archive` of its commit)


@dataclass(frozen=True)
class Artifact:
    """What a release runs, prepared once per release and recorded in the ledger.

    `reference` is what starts it again later: the snapshot folder for `local`, the image
    by digest (`repo@sha256:...`) for `docker`. `facts` are driver-private details.
    """

    runtime: str
    reference: str
    snapshot: Path
    summary: str  # what the build step reports, e.g. "reused environment 3f2a..."
    facts: Mapping[str, str] = field(default_factory=dict)

    def to_meta(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "reference": self.reference,
            "snapshot": str(self.snapshot),
            "summary": self.summary,
            "facts": dict(self.facts),
        }

    @classmethod
    def recorded(cls, release_meta: Mapping[str, Any]) -> Artifact | None:
        """The artifact a release's ledger meta holds under "artifact", if any."""
        data = release_meta.get("artifact")
        return cls.from_meta(data) if isinstance(data, Mapping) else None

    @classmethod
    def from_meta(cls, data: Mapping[str, Any]) -> Artifact | None:
        """The artifact a ledger record holds, or None when it holds none (older releases)."""
        try:
            return cls(
                runtime=str(data["runtime"]),
                reference=str(data["reference"]),
                snapshot=Path(str(data["snapshot"])),
                summary=str(data.get("summary", "")),
                facts={str(k): str(v) for k, v in dict(data.get("facts", {})).items()},
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class SharedPath:
    """A path of the release that persists across releases (uploads, caches).

    local: a symlink from the release snapshot into the state folder; docker: a named volume.
    """

    name: str  # identifier, e.g. "uploads"
    path: str  # relative to the service's workdir, e.g. "media/uploads"
    directory: bool = True  # False: one file (an SQLite database), linked by itself


@dataclass(frozen=True)
class WorkloadEnv:
    """A workload's environment, split so that no driver has to guess what is secret."""

    plain: Mapping[str, str] = field(default_factory=dict)  # no secret in these values
    secret: Mapping[str, str] = field(default_factory=dict, repr=False)  # values with secrets
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # NAME -> value

    def merged(self) -> dict[str, str]:
        """Every variable, resolved (for drivers that can only pass variables)."""
        return {**self.plain, **self.secret}


@dataclass(frozen=True)
class WorkloadSpec:
    """One instance of a release to start: the engine says what, the driver decides how."""

    name: str  # unique within a state folder: "{service}-{environment}-{group}-{index}"
    service: str
    environment: str
    version: str
    group: str  # colour for blue-green ("blue"/"green"); one group = one version
    artifact: Artifact
    env: WorkloadEnv = field(default_factory=WorkloadEnv, repr=False)
    shared: tuple[SharedPath, ...] = ()
    port: int | None = None  # where to publish it; None: the driver picks a free port
    release: int | None = None  # ledger id of its release: drivers keep its logs apart


@dataclass(frozen=True)
class CommandSpec:
    """A one-off command run in a release's artifact (e.g. a release_command: migrations)."""

    name: str  # e.g. "hello-production-release-12"
    service: str
    environment: str
    artifact: Artifact
    argv: tuple[str, ...]
    env: WorkloadEnv = field(default_factory=WorkloadEnv, repr=False)
    shared: tuple[SharedPath, ...] = ()
    timeout: float = 600.0


@dataclass(frozen=True)
class CommandResult:
    """How a one-off command ended; `output` is its stdout+stderr (redact before showing)."""

    exit_code: int
    output: str
    timed_out: bool = False


@dataclass(frozen=True)
class InstanceStatus:
    """What the runtime knows about one managed instance right now."""

    name: str
    service: str
    environment: str
    version: str
    group: str
    url: str  # where the router and health checks reach it, e.g. "http://127.0.0.1:41234"
    state: InstanceState
    port: int | None = None  # the port of `url`, when it has one
    pid: int | None = None  # process id (local), None where there is none to show
    detail: str = ""  # e.g. exit status or spawn error for crashed instances
    log_file: Path | None = None  # where its log is on disk, if it is a file
    ident: str = ""  # the driver's own id (container id); "" when it is the name


class Runtime(Protocol):
    """Where releases run; instances outlive the CLI process that started them."""

    name: str  # the spec's `runtime:` value, e.g. "local"

    def preflight(self) -> None:
        """Raise RuntimeUnavailableError when the runtime cannot work now (before any state)."""
        ...

    def diagnose(self, scope: str) -> list[Check]:
        """What this runtime needs here, checked now, with a fix for each problem."""
        ...

    def prepare(self, source: ReleaseSource, recorded: Artifact | None = None) -> Artifact:
        """Build (or reuse) the release's artifact; `recorded` is one the ledger holds for
        it (a rollback starts exactly that one when it still exists)."""
        ...

    def start(self, workloads: Sequence[WorkloadSpec]) -> None:
        """Start the instances (returns once spawned, not when ready); replaces same names."""
        ...

    def stop(self, names: Sequence[str]) -> None:
        """Stop gracefully (SIGTERM, wait the stop timeout, SIGKILL) and forget them."""
        ...

    def list(
        self, service: str | None = None, environment: str | None = None
    ) -> list[InstanceStatus]:
        """Every managed instance, optionally filtered, with its live state."""
        ...

    def logs(self, name: str, lines: int = 100) -> str:
        """The last `lines` lines an instance wrote ("" when there are none)."""
        ...

    def run_command(self, command: CommandSpec) -> CommandResult:
        """Run a one-off command in the release's artifact and wait for it."""
        ...

    def prune(self, service: str, keep: Collection[Artifact]) -> Sequence[str]:
        """Remove the service's artifacts not in `keep`; what was removed."""
        ...

    def shutdown_if_idle(self) -> None:
        """Stop the runtime's own daemon (if it has one) when it manages no instance."""
        ...


_LOWEST_PORT = 10000
_handed_out: set[int] = set()  # by this process: never the same port twice


def _ephemeral_start() -> int:
    """Where the kernel's range of local ports for outgoing connections begins."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago on `host`, below the kernel's ephemeral range when
    there is room: a port the OS hands out for `bind(0)` comes from the range every outgoing
    connection (a health check, a client) takes its local port from, so between our choice
    and the bind of the instance or router it is meant for it may be gone."""
    high = _ephemeral_start()
    for _ in range(64 if high - _LOWEST_PORT >= 1000 else 0):
        port = random.randrange(_LOWEST_PORT, high)  # noqa: S311 - not a secret
        if port not in _handed_out and _bindable(host, port):
            _handed_out.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        chosen: int = sock.getsockname()[1]
    _handed_out.add(chosen)
    return chosen


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
