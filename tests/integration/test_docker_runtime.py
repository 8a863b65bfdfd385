"""The docker driver on a real Engine and a real local registry, below the rollout engine:
secrets stay out of images, labels, configuration and logs; containers carry their labels,
limits, read-only root and loopback-only port; one-off commands and shared paths; image
pruning; and the faults (engine down, registry down, a broken build) fail cleanly."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from moai_deploy.cli.demo import find_example
from moai_deploy.errors import ReleaseFailedError
from moai_deploy.paths import StateLayout
from moai_deploy.rollout.health import wait_ready
from moai_deploy.runtime.base import (
    Artifact,
    CommandSpec,
    ReleaseSource,
    RuntimeUnavailableError,
    SharedPath,
    WorkloadEnv,
    WorkloadSpec,
)
from moai_deploy.runtime.docker.driver import DockerRuntime
from moai_deploy.runtime.docker.local_registry import LocalRegistry
from moai_deploy.runtime.registry import RuntimeSettings
from moai_deploy.spec.loader import load_spec

pytestmark = [pytest.mark.slow, pytest.mark.docker]
SECRET = "s3cr3t-Zq7-value-never-shown"  # pragma: allowlist secret
_SKIP = (".moai-deploy", "__pycache__", ".venv", ".mypy_cache")


def _runtime(project: Path, registry: str, base: str, state: Path) -> DockerRuntime:
    spec = load_spec(project / "moai-deploy.yaml").spec
    section = spec.docker.model_copy(update={"registry": registry, "base_image": base})
    spec = spec.model_copy(update={"docker": section})
    return DockerRuntime(RuntimeSettings(spec, project, StateLayout(state), state / "cache"))


@pytest.fixture(scope="module")
def hello(
    tmp_path_factory: pytest.TempPathFactory, registry: LocalRegistry, python_base: str
) -> Iterator[tuple[DockerRuntime, Artifact]]:
    root = tmp_path_factory.mktemp("docker-runtime")
    project = root / "hello"
    shutil.copytree(find_example(None), project, ignore=shutil.ignore_patterns(*_SKIP))
    runtime = _runtime(project, registry.address, python_base, root / "state")
    artifact = runtime.prepare(ReleaseSource("hello", "t1", project))
    try:
        yield runtime, artifact
    finally:
        runtime.stop([i.name for i in runtime.list()])
        runtime.prune("hello", [])


def _workload(artifact: Artifact, name: str = "hello-production-blue-0", **kw: Any) -> WorkloadSpec:
    return WorkloadSpec(name, "hello", "production", "t1", "blue", artifact, **kw)


def test_secrets_never_reach_the_image_labels_configuration_or_logs(
    hello: tuple[DockerRuntime, Artifact], docker_client: docker.DockerClient
) -> None:
    runtime, artifact = hello
    env = WorkloadEnv(
        plain={"LOG_LEVEL": "INFO"},
        secret={"API_TOKEN": SECRET},
        secrets={"HELLO_TOKEN": SECRET},
    )
    runtime.start([_workload(artifact, env=env)])
    try:
        assert wait_ready(lambda: runtime.list("hello", "production"), "/ready", timeout=90) == []
        (status,) = runtime.list("hello", "production")
        container = docker_client.containers.get(status.ident)
        # The service gets the value: in its environment (pid 1) and as a file.
        digest = hashlib.sha256(SECRET.encode()).hexdigest()
        probe = (
            "import glob, hashlib, os; "
            "pid = next(p for p in glob.glob('/proc/[0-9]*') if p != f'/proc/{os.getpid()}' "
            "and open(p + '/cmdline', 'rb').read().startswith(b'python')); "
            "raw = open(pid + '/environ').read().split('\\0'); "
            "env = dict(item.split('=', 1) for item in raw if item); "
            "f = open('/run/secrets/HELLO_TOKEN').read(); "
            "print(hashlib.sha256(env['API_TOKEN'].encode()).hexdigest(), "
            "hashlib.sha256(f.encode()).hexdigest())"
        )
        seen = container.exec_run(["python", "-c", probe], user="1000").output.decode().split()
        assert seen == [digest, digest]
        written = container.exec_run(["sh", "-c", "echo x > /run/secrets/HELLO_TOKEN"])
        assert written.exit_code != 0  # mounted read-only
        # ... and nowhere else.
        inspect = str(docker_client.api.inspect_container(container.id))
        history = subprocess.run(
            ["docker", "history", "--no-trunc", artifact.facts["image_id"]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        saved = b"".join(docker_client.images.get(artifact.facts["image_id"]).save())
        logs = container.logs().decode(errors="replace") + runtime.logs(status.name)
        for where, text in [("inspect", inspect), ("history", history), ("logs", logs)]:
            assert SECRET not in text, where
        assert SECRET.encode() not in saved
        assert SECRET not in str(container.labels)
        assert "API_TOKEN" not in str(container.attrs["Config"]["Env"])
    finally:
        runtime.stop([status.name])
    assert not (runtime.secrets.root / f"{status.name}-{runtime.scope}").exists()


def test_container_labels_limits_read_only_root_and_loopback_port(
    hello: tuple[DockerRuntime, Artifact], docker_client: docker.DockerClient
) -> None:
    runtime, artifact = hello
    runtime.start([_workload(artifact, "hello-production-green-0")])
    try:
        (status,) = runtime.list("hello", "production")
        attrs = docker_client.api.inspect_container(status.ident)
        labels = attrs["Config"]["Labels"]
        assert {k: labels[f"moai-deploy.{k}"] for k in ("service", "environment", "version")} == {
            "service": "hello",
            "environment": "production",
            "version": "t1",
        }
        assert labels["moai-deploy.group"] == "blue"
        host = attrs["HostConfig"]
        assert host["ReadonlyRootfs"] is True and "/tmp" in host["Tmpfs"]
        assert host["NanoCpus"] == 1_000_000_000 and host["Memory"] == 512 * 2**20
        bindings = host["PortBindings"]["8000/tcp"]
        assert [b["HostIp"] for b in bindings] == ["127.0.0.1"]
        assert status.url == f"http://127.0.0.1:{bindings[0]['HostPort']}"
        assert attrs["Config"]["User"] == "1000:1000"
    finally:
        runtime.stop([status.name])
    assert runtime.list("hello") == []


def test_logs_are_followed_from_the_engine_as_they_are_written(
    hello: tuple[DockerRuntime, Artifact],
) -> None:
    runtime, artifact = hello
    runtime.start([_workload(artifact, "hello-production-blue-1")])
    try:
        assert wait_ready(lambda: runtime.list("hello", "production"), "/ready", timeout=90) == []
        (status,) = runtime.list("hello", "production")
        seen: list[tuple[float, str]] = []

        def read() -> None:
            for line in runtime.stream_logs(status.name):
                seen.append((time.monotonic(), line))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        time.sleep(1.0)  # the stream is open; only what is written from now on is shown
        before = len(seen)
        asked = time.monotonic()
        httpx.get(f"{status.url}/?marker=follow-me", timeout=10)
        deadline = asked + 10
        while not any("follow-me" in line for _, line in seen[before:]):
            assert time.monotonic() < deadline, seen[-5:]
            time.sleep(0.02)
        shown = next(at for at, line in seen[before:] if "follow-me" in line)
        print(f"\ndocker logs --follow: a request's line shown {shown - asked:.3f} s later")
        assert shown - asked < 1.0
    finally:
        runtime.stop([status.name])
    reader.join(timeout=15)
    assert not reader.is_alive()  # the stream ends with the container


def test_one_off_commands_run_in_the_image_with_a_persistent_shared_volume(
    hello: tuple[DockerRuntime, Artifact], docker_client: docker.DockerClient
) -> None:
    runtime, artifact = hello
    script = "import os; open('data/n', 'a').write('x'); print(len(open('data/n').read()))"
    command = CommandSpec(
        name="hello-production-release-1",
        service="hello",
        environment="production",
        artifact=artifact,
        argv=("python", "-c", script),
        env=WorkloadEnv(plain={"A": "1"}),
        shared=(SharedPath("data", "data"),),
    )
    try:
        first, second = runtime.run_command(command), runtime.run_command(command)
        assert (first.exit_code, first.output.strip()) == (0, "1")
        assert (second.exit_code, second.output.strip()) == (0, "2")  # the volume persisted
        failing = runtime.run_command(
            CommandSpec(
                "j", "hello", "production", artifact, ("python", "-c", "raise SystemExit(4)")
            )
        )
        assert failing.exit_code == 4
        leftovers = docker_client.containers.list(
            all=True, filters={"label": f"moai-deploy.scope={runtime.scope}"}
        )
        assert leftovers == []  # one-off containers are removed
    finally:
        volume = f"moai-hello-production-{runtime.scope}-data"
        docker_client.volumes.get(volume).remove(force=True)


def test_rollback_artifact_is_found_by_digest_and_pruning_removes_the_rest(
    hello: tuple[DockerRuntime, Artifact], docker_client: docker.DockerClient
) -> None:
    runtime, artifact = hello
    again = runtime.prepare(ReleaseSource("hello", "t1", artifact.snapshot), artifact)
    assert again.reference == artifact.reference and again.summary.startswith("reused image")
    other = runtime.prepare(ReleaseSource("hello", "t2", artifact.snapshot))
    assert other.facts["tag"].endswith(":t2")
    removed = runtime.prune("hello", [artifact])
    assert removed == [other.facts["tag"]]
    assert docker_client.images.get(artifact.facts["image_id"])  # kept


def test_a_broken_requirements_build_fails_with_the_build_output(
    tmp_path: Path, registry: LocalRegistry, python_base: str
) -> None:
    project = tmp_path / "broken"
    project.mkdir()
    (project / "requirements.txt").write_text("this-package-does-not-exist-moai==0.0.1\n")
    (project / "moai-deploy.yaml").write_text(
        "service:\n  name: broken\n  command: python -m http.server {port}\n"
        "environments: {production: {}}\n"
    )
    runtime = _runtime(project, registry.address, python_base, tmp_path / "state")
    with pytest.raises(ReleaseFailedError, match=r"building .*broken:t1 failed") as failed:
        runtime.prepare(ReleaseSource("broken", "t1", project))
    assert "this-package-does-not-exist-moai" in str(failed.value)


def test_registry_down_and_engine_down_are_clear_errors(
    tmp_path: Path, hello: tuple[DockerRuntime, Artifact], python_base: str, free_address: str
) -> None:
    _, artifact = hello
    offline = _runtime(artifact.snapshot, free_address, python_base, tmp_path / "state")
    with pytest.raises(ReleaseFailedError, match=rf"pushing .* to {free_address} failed"):
        offline.prepare(ReleaseSource("hello", "t3", artifact.snapshot))
    offline.prune("hello", [])

    engine_down = _runtime(artifact.snapshot, free_address, python_base, tmp_path / "s2")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
        with pytest.raises(RuntimeUnavailableError, match="not reachable") as down:
            engine_down.preflight()
    assert "fix: start the engine" in str(down.value)


@pytest.fixture
def free_address() -> str:
    from moai_deploy.runtime.base import free_port

    return f"127.0.0.1:{free_port()}"
