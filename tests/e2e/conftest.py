"""A scratch git copy of the example service, deployed for real; everything stopped after.

`project_dir` runs on the local runtime unless a test parametrizes it (indirectly) with
RUNTIMES: then the same scenario also runs on a real Docker Engine, with images pushed to a
real local registry (tests marked `docker`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_deploy.cli.demo import edit_environment, find_example, make_v2, prepare_workspace
from moai_deploy.cli.demo_docker import remove_images, use_docker
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.reporter import RecordingReporter

ENV = "demo"
RUNTIMES = [pytest.param("local", id="local"), pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture
def project_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    runtime = getattr(request, "param", "local")
    directory = prepare_workspace(find_example(None), tmp_path)
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


__all__ = ["ENV", "RUNTIMES", "Recorder", "edit_spec", "make_v2", "reopen"]
