"""Faults on the docker runtime, through the real CLI: the engine down, the registry down, a
build that fails, an environment port already taken. Each gives a clear message and the
right exit code, no traceback, and leaves nothing half-done: no container, no release in
progress. Plus `doctor` (exit 0 only when everything passes) and `demo --runtime docker`
without an engine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from moai_deploy.cli.demo import find_example, prepare_workspace
from moai_deploy.cli.demo_docker import use_docker
from moai_deploy.ledger.store import Ledger, ledger_url
from moai_deploy.paths import StateLayout
from moai_deploy.runtime.base import free_port
from moai_deploy.runtime.docker.images import scope_of
from moai_deploy.runtime.docker.local_registry import LocalRegistry

ENV = "demo"


def _cli(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moai_deploy", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **env},
    )


def _commit(project: Path, message: str) -> None:
    subprocess.run(["git", "-C", str(project), "commit", "-qam", message], check=True)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    directory = prepare_workspace(find_example(None), tmp_path)
    yield directory
    _cli(directory, "down", ENV)


def _nothing_half_done(project: Path, client: docker.DockerClient | None = None) -> None:
    layout = StateLayout.for_project(project)
    if layout.ledger_db.exists():
        ledger = Ledger.open(ledger_url(layout.ledger_db))
        try:
            assert ledger.in_progress("hello", ENV) == []
        finally:
            ledger.close()
    if client is not None:
        scope = f"moai-deploy.scope={scope_of(layout.root)}"
        assert client.containers.list(all=True, filters={"label": scope}) == []


def test_engine_down_is_a_clear_failure_before_anything_is_recorded(project: Path) -> None:
    use_docker(project, ENV, f"127.0.0.1:{free_port()}", "local/python-base:bookworm")
    no_engine = {"DOCKER_HOST": f"unix://{project}/no-docker.sock"}

    done = _cli(project, "deploy", ENV, "--version", "v1", **no_engine)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Docker engine" in done.stderr and "not reachable" in done.stderr
    assert "fix: start the engine" in done.stderr and "Traceback" not in done.stderr
    ledger = Ledger.open(ledger_url(StateLayout.for_project(project).ledger_db))
    try:
        assert ledger.list_releases("hello", ENV) == []  # nothing recorded
    finally:
        ledger.close()

    doctor = _cli(project, "doctor", **no_engine)
    assert doctor.returncode == 1 and "FAIL" in doctor.stdout and "fix:" in doctor.stdout
    assert "Traceback" not in doctor.stdout + doctor.stderr


def test_demo_on_docker_without_an_engine_says_what_is_missing(tmp_path: Path) -> None:
    done = _cli(tmp_path, "demo", "--runtime", "docker", DOCKER_HOST=f"unix://{tmp_path}/none.sock")
    assert done.returncode == 1
    assert "not reachable" in done.stderr and "fix:" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_port_taken_is_bad_input_with_the_fix(project: Path) -> None:
    from moai_deploy.spec.loader import load_spec

    port = load_spec(project / "moai-deploy.yaml").spec.port_of(ENV)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        done = _cli(project, "deploy", ENV, "--version", "v1")
    assert done.returncode == 2, done.stdout + done.stderr
    # Found by the spec's busy-port check before anything starts: file:line and the key.
    # Compared without whitespace: off a terminal the message is wrapped, mid-word too.
    flat = "".join(done.stderr.split())
    assert f"{port}" in flat and "inusebyanotherprogram" in flat
    assert f"environments.{ENV}.port" in flat and "moai-deploy.yaml:" in flat
    assert "fix:" in done.stderr and "Traceback" not in done.stderr
    _nothing_half_done(project)


@pytest.mark.slow
@pytest.mark.docker
def test_registry_down_and_broken_build_fail_the_release_cleanly(
    project: Path, docker_client: docker.DockerClient, python_base: str, tmp_path: Path
) -> None:
    dead_registry = f"127.0.0.1:{free_port()}"
    use_docker(project, ENV, dead_registry, python_base)
    done = _cli(project, "deploy", ENV, "--version", "v1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"to {dead_registry} failed" in done.stderr and "fix:" in done.stderr
    assert "Traceback" not in done.stderr
    _nothing_half_done(project, docker_client)

    registry = LocalRegistry(tmp_path / "registry").start()
    try:
        use_docker(project, ENV, registry.address, python_base)
        pyproject = project / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text().replace(
                '"fastapi>=0.110",', '"fastapi>=0.110", "no-such-package-moai-w8==9.9",'
            )
        )
        _commit(project, "a dependency that does not exist")
        done = _cli(project, "deploy", ENV, "--version", "v2")
        assert done.returncode == 1, done.stdout + done.stderr
        assert "building" in done.stderr and "no-such-package-moai-w8" in done.stderr
        assert "Traceback" not in done.stderr
        _nothing_half_done(project, docker_client)
    finally:
        registry.stop()
        _cli(project, "down", ENV)
        filters = {"label": f"moai-deploy.scope={scope_of(StateLayout.for_project(project).root)}"}
        for image in docker_client.images.list(filters=filters):
            docker_client.images.remove(image.id or "", force=True)


@pytest.mark.slow
@pytest.mark.docker
def test_doctor_passes_only_when_everything_is_there(
    project: Path, docker_client: docker.DockerClient, python_base: str, tmp_path: Path
) -> None:
    registry = LocalRegistry(tmp_path / "registry").start()
    try:
        use_docker(project, ENV, registry.address, python_base)
        done = _cli(project, "doctor")
        assert done.returncode == 0, done.stdout
        for name in ("docker engine reachable", f"registry {registry.address}", python_base):
            assert name in done.stdout
    finally:
        registry.stop()
    done = _cli(project, "doctor")  # the registry is gone now
    assert done.returncode == 1 and "docker-registry" in done.stdout
