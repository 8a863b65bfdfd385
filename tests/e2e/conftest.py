"""A scratch git copy of the example service, deployed for real; everything stopped after.

Tests parametrized over `runtime` (RUNTIMES, ROUTERS_AND_DOCKER) also run on a real Docker
Engine, with images pushed to a real local registry (those cases are marked `docker`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from moai_deploy.cli.demo import edit_environment, find_example, make_v2, prepare_workspace
from moai_deploy.cli.demo_docker import remove_images, use_docker
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.reporter import RecordingReporter
from moai_deploy.spec.models import TrafficSpec

ENV = "demo"


# The routers a test runs on when parametrized over them: `@pytest.mark.parametrize("router",
# ROUTERS)`; unparametrized tests use the spec's default router.
ROUTERS = ("traefik", "haproxy")
DEFAULT_ROUTER = TrafficSpec().router
OTHER_ROUTER = next(r for r in ROUTERS if r != DEFAULT_ROUTER)
# The runtimes a test runs on when parametrized over them: `@pytest.mark.parametrize(
# "runtime", RUNTIMES)`; unparametrized tests run locally.
RUNTIMES = [pytest.param("local", id="local"), pytest.param("docker", marks=pytest.mark.docker)]
# Each router on the local runtime, plus the default router on Docker (CI time is bounded):
# `@pytest.mark.parametrize(("router", "runtime"), ROUTERS_AND_DOCKER)`.
ROUTERS_AND_DOCKER = [pytest.param(r, "local", id=r) for r in ROUTERS] + [
    pytest.param(None, "docker", id="docker", marks=pytest.mark.docker)
]


@pytest.fixture
def router() -> str | None:
    return os.environ.get("MOAI_TEST_ROUTER")  # e.g. the whole suite on one router, by hand


def use_router(directory: Path, router: str) -> None:
    """Set `traffic.router` in the scratch spec and commit it."""
    yaml = YAML(typ="rt")
    spec_path = directory / "moai-deploy.yaml"
    data = yaml.load(spec_path)
    data.setdefault("traffic", {})["router"] = router
    yaml.dump(data, spec_path)
    subprocess.run(
        ["git", "-C", str(directory), "commit", "-q", "-am", f"spec: router {router}"],
        check=True,
    )


@pytest.fixture
def runtime() -> str:
    return "local"


@pytest.fixture
def project_dir(
    tmp_path: Path, router: str | None, runtime: str, request: pytest.FixtureRequest
) -> Iterator[Path]:
    directory = prepare_workspace(find_example(None), tmp_path)
    if router is not None:
        use_router(directory, router)
    if runtime == "docker":
        registry = request.getfixturevalue("registry")
        use_docker(directory, ENV, registry.address, request.getfixturevalue("python_base"))
    yield directory
    project = Project.open(directory / "moai-deploy.yaml")
    try:
        for environment in project.loaded.spec.environments:
            operations.down(project, environment)
        if runtime == "docker":
            remove_images(project)
    finally:
        project.close()


@pytest.fixture
def project(project_dir: Path) -> Iterator[Project]:
    opened = Project.open(project_dir / "moai-deploy.yaml")
    yield opened
    opened.close()


edit_spec = edit_environment


def reopen(project_dir: Path) -> Project:
    return Project.open(project_dir / "moai-deploy.yaml")


Recorder = RecordingReporter


__all__ = [
    "ENV",
    "OTHER_ROUTER",
    "ROUTERS",
    "ROUTERS_AND_DOCKER",
    "RUNTIMES",
    "Recorder",
    "edit_spec",
    "make_v2",
    "reopen",
]
