"""A scratch git copy of the example service, deployed for real; everything stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_deploy.cli.demo import edit_environment, find_example, make_v2, prepare_workspace
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.reporter import RecordingReporter

ENV = "demo"


@pytest.fixture
def project_dir(tmp_path: Path) -> Iterator[Path]:
    directory = prepare_workspace(find_example(None), tmp_path)
    yield directory
    project = Project.open(directory / "moai-deploy.yaml")
    try:
        for environment in project.loaded.spec.environments:
            operations.down(project, environment)
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


__all__ = ["ENV", "Recorder", "edit_spec", "make_v2", "reopen"]
