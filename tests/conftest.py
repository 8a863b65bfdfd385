"""Session-wide guard: the run fails if a process started by the tests outlives them.

And for tests marked `docker`: a reachable Docker Engine, a local registry and the locally
built Python base image (built once per machine, cached by tag). Without an engine these
tests skip, with the reason; under CI (CI=true) they fail, so a CI run that forgot to start
dockerd cannot pass by skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from moai_deploy.runtime.base import RuntimeUnavailableError
from moai_deploy.runtime.docker.base_image import ensure_python_base
from moai_deploy.runtime.docker.engine import connect
from moai_deploy.runtime.docker.local_registry import LocalRegistry
from moai_deploy.spec.docker import LOCAL_PYTHON_BASE

from .leaks import kill, wait_for_no_leaks

LEAK_GRACE_SECONDS = 10.0

# Fixture projects carry their own test suites (gates run them in the project's own
# environment); they are data here, not tests of moai-deploy.
collect_ignore_glob = ["fixtures/*"]


@pytest.fixture(scope="session", autouse=True)
def _no_leaked_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Set up first, torn down last: after every other fixture stopped what it started."""
    base = tmp_path_factory.getbasetemp()
    yield
    leaks = wait_for_no_leaks(base, LEAK_GRACE_SECONDS)
    if leaks:
        kill(leaks)  # they run from this session's temp folder: started by these tests
        listed = "\n".join(f"  {leak.describe()}" for leak in leaks)
        pytest.fail(f"{len(leaks)} process(es) started by the tests were still running:\n{listed}")


def _engine_or_skip() -> docker.DockerClient:
    try:
        return connect(timeout=30)
    except RuntimeUnavailableError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but no Docker Engine: {exc}", pytrace=False)
        pytest.skip(f"no Docker Engine here (start dockerd to run these): {exc}")


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    return _engine_or_skip()


@pytest.fixture(scope="session")
def python_base(docker_client: docker.DockerClient) -> str:
    ensure_python_base(docker_client, LOCAL_PYTHON_BASE)
    return LOCAL_PYTHON_BASE


@pytest.fixture(scope="session")
def registry(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRegistry]:
    folder: Path = tmp_path_factory.mktemp("registry")
    server = LocalRegistry(folder).start()
    try:
        yield server
    finally:
        server.stop()
