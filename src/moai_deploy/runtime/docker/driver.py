"""The `docker` runtime: a release is an image, its instances are containers.

Containers publish their port on 127.0.0.1 only, on a free host port per container, and
the traffic router (Traefik, a host process) sends to those. A Docker network would need
the router inside it (or routes to 172.x addresses that differ per host and engine); a
loopback port keeps one router configuration for every runtime and nothing listens beyond
this host.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any

import docker
from docker.errors import APIError, NotFound

from moai_deploy.checks import Check
from moai_deploy.render.bind import container_command
from moai_deploy.render.context import merged_targets
from moai_deploy.render.docker import UID
from moai_deploy.runtime.base import (
    Artifact,
    CommandResult,
    CommandSpec,
    InstanceStatus,
    ReleaseSource,
    SharedPath,
    WorkloadSpec,
    free_port,
)
from moai_deploy.runtime.docker import containers as ct
from moai_deploy.runtime.docker.engine import connect, engine_errors
from moai_deploy.runtime.docker.images import LABEL, NAME, ImageBuilder, scope_of
from moai_deploy.runtime.registry import RuntimeSettings

_STOP_MARGIN = 10


class DockerRuntime:
    """Runs releases as containers on the Docker Engine the environment points at."""

    name = NAME

    def __init__(self, settings: RuntimeSettings) -> None:
        self.settings = settings
        self.spec = settings.spec
        self.scope = scope_of(settings.layout.root)
        self.secrets = ct.SecretStore.for_scope(self.scope)

    @cached_property
    def client(self) -> docker.DockerClient:
        return connect()

    @property
    def images(self) -> ImageBuilder:
        return ImageBuilder(self.client, self.spec, self.scope)

    def preflight(self) -> None:
        self.client  # noqa: B018 - connecting is the check

    def diagnose(self, scope: str) -> list[Check]:
        from moai_deploy.runtime.docker.doctor import diagnose

        return diagnose(self.spec, scope)

    # -- artifacts -------------------------------------------------------------------

    def prepare(self, source: ReleaseSource, recorded: Artifact | None = None) -> Artifact:
        """The recorded image when it still exists (a rollback runs exactly it), else a
        fresh build of the snapshot, pushed and recorded by digest."""
        return self.images.existing(recorded) or self.images.build(source)

    def prune(self, service: str, keep: Collection[Artifact]) -> list[str]:
        with engine_errors("pruning images"):
            return self.images.prune(service, keep)

    # -- containers ------------------------------------------------------------------

    def _container_name(self, name: str) -> str:
        return f"{name}-{self.scope}"

    def _options(self, environment: str) -> ct.RunOptions:
        targets = merged_targets(self.spec, environment)
        sub = self.spec.service.workdir.strip("/")
        return ct.RunOptions(
            read_only=self.spec.docker.read_only,
            tmpfs=self.spec.docker.tmpfs,
            resources=targets.resources,
            container_port=targets.container_port,
            workdir="/app" if sub in ("", ".") else f"/app/{sub}",
        )

    def _labels(self, workload: WorkloadSpec, port: int) -> dict[str, str]:
        return {
            f"{LABEL}.scope": self.scope,
            f"{LABEL}.name": workload.name,
            f"{LABEL}.service": workload.service,
            f"{LABEL}.environment": workload.environment,
            f"{LABEL}.version": workload.version,
            f"{LABEL}.group": workload.group,
            f"{LABEL}.port": str(port),
        }

    def _create(self, workload: WorkloadSpec) -> Any:
        options = self._options(workload.environment)
        port = workload.port or free_port()
        name = self._container_name(workload.name)
        command = tuple(
            a.replace("{port}", str(options.container_port)) for a in self.spec.service.command
        )
        env = {
            **workload.env.plain,
            self.spec.service.port_env: str(options.container_port),
            "MOAI_DEPLOY_VERSION": workload.version,
            "MOAI_DEPLOY_ENVIRONMENT": workload.environment,
            "MOAI_DEPLOY_INSTANCE": workload.name,
        }
        prefix = f"moai-{workload.service}-{workload.environment}-{self.scope}"
        self._ensure_volumes(workload.artifact, workload.shared, prefix)
        return self.client.containers.create(
            image=workload.artifact.facts.get("image_id") or workload.artifact.reference,
            name=name,
            command=list(container_command(command)),
            entrypoint=ct.entrypoint(workload.env),
            environment=env,
            labels=self._labels(workload, port),
            ports={f"{options.container_port}/tcp": ("127.0.0.1", port)},
            restart_policy={"Name": "on-failure", "MaximumRetryCount": 3},
            stop_signal="SIGTERM",
            **ct.host_config(
                options, self.secrets.write(name, workload.env), workload.shared, prefix
            ),
        )

    def start(self, workloads: Sequence[WorkloadSpec]) -> None:
        """Create and start every container; on any failure none of them is left behind."""
        self.stop([w.name for w in workloads])
        started: list[str] = []
        try:
            with engine_errors("starting containers"):
                for workload in workloads:
                    container = self._create(workload)
                    started.append(workload.name)
                    container.start()
        except BaseException:
            self.stop(started)
            raise

    def _find(self, **labels: str) -> list[Any]:
        wanted = [f"{LABEL}.scope={self.scope}"]
        wanted += [f"{LABEL}.{key}={value}" for key, value in labels.items()]
        return list(self.client.containers.list(all=True, filters={"label": wanted}))

    def stop(self, names: Sequence[str]) -> None:
        """SIGTERM, SIGKILL after the stop timeout, then remove; all in parallel."""
        wanted = set(names)
        if not wanted:
            return
        with engine_errors("stopping containers"):
            targets = [c for c in self._find() if c.labels.get(f"{LABEL}.name") in wanted]
            timeout = int(self.spec.service.stop_timeout)
            with ThreadPoolExecutor(max_workers=max(1, min(8, len(targets)))) as pool:
                list(pool.map(lambda c: self._remove(c, timeout), targets))
        for name in wanted:
            self.secrets.remove(self._container_name(name))

    @staticmethod
    def _remove(container: Any, timeout: int) -> None:
        try:
            container.stop(timeout=timeout)
            container.remove(force=True)
        except NotFound:
            return

    def list(
        self, service: str | None = None, environment: str | None = None
    ) -> list[InstanceStatus]:
        labels = {"service": service, "environment": environment}
        with engine_errors("listing containers"):
            found = self._find(**{k: v for k, v in labels.items() if v is not None})
            return sorted((ct.to_status(c, self.scope) for c in found), key=lambda s: s.name)

    def logs(self, name: str, lines: int = 100) -> str:
        found = [c for c in self._find(name=name)]
        if not found:
            return ""
        data: bytes = found[0].logs(tail=lines)
        return data.decode(errors="replace").rstrip("\n")

    def stream_logs(self, name: str, lines: int = 0) -> Iterator[str]:
        """The container's new log lines as they are written (after its last `lines`), until
        it stops; nothing if there is no such container."""
        found = self._find(name=name)
        if not found:
            return
        pending = b""
        for chunk in found[0].logs(stream=True, follow=True, tail=lines):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.decode(errors="replace")
        if pending:
            yield pending.decode(errors="replace")

    def run_command(self, command: CommandSpec) -> CommandResult:
        """A one-off container from the release's image; removed once it ended."""
        options = self._options(command.environment)
        name = self._container_name(command.name)
        prefix = f"moai-{command.service}-{command.environment}-{self.scope}"
        with engine_errors(f"running {command.argv[0]}"):
            self._ensure_volumes(command.artifact, command.shared, prefix)
            self._discard(name)
            container = self.client.containers.create(
                image=command.artifact.facts.get("image_id") or command.artifact.reference,
                name=name,
                command=list(command.argv),
                entrypoint=ct.entrypoint(command.env),
                environment={**command.env.plain, "MOAI_DEPLOY_ENVIRONMENT": command.environment},
                labels={f"{LABEL}.scope": self.scope, f"{LABEL}.job": command.name},
                **ct.host_config(
                    options, self.secrets.write(name, command.env), command.shared, prefix
                ),
            )
            try:
                return _wait(container, command.timeout)
            finally:
                self._discard(name)
                self.secrets.remove(name)

    def _ensure_volumes(
        self, artifact: Artifact, shared: tuple[SharedPath, ...], prefix: str
    ) -> None:
        """Create each shared path's named volume once, owned by the image's user (uid 1000):
        a new volume is root's, and the service never runs as root."""
        for item in shared:
            volume = f"{prefix}-{item.name}"
            try:
                self.client.volumes.get(volume)
                continue
            except NotFound:
                self.client.volumes.create(volume, labels={f"{LABEL}.scope": self.scope})
            self.client.containers.run(
                artifact.facts.get("image_id") or artifact.reference,
                ["chown", f"{UID}:{UID}", "/volume"],
                user="0",
                volumes={volume: {"bind": "/volume", "mode": "rw"}},
                entrypoint=[],
                remove=True,
                network_mode="none",
            )

    def _discard(self, name: str) -> None:
        try:
            self.client.containers.get(name).remove(force=True)
        except NotFound:
            return

    def shutdown_if_idle(self) -> None:
        """Nothing: the Docker engine is not ours to stop."""


def _wait(container: Any, timeout: float) -> CommandResult:
    container.start()
    timed_out = False
    try:
        result = container.wait(timeout=timeout)
        code = int(result.get("StatusCode", -1))
    except Exception:  # requests' ReadTimeout: the engine kept it running
        timed_out, code = True, -1
        _ignore(container.kill)
    output = container.logs().decode(errors="replace")
    return CommandResult(exit_code=code, output=output, timed_out=timed_out)


def _ignore(action: Callable[[], object]) -> None:
    try:
        action()
    except APIError:
        return


def create(settings: RuntimeSettings) -> DockerRuntime:
    return DockerRuntime(settings)
