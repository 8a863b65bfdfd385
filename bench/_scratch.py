"""Shared set-up of the benchmarks: a scratch git copy of the example service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moai_deploy.cli import demo
from moai_deploy.cli.demo import ENVIRONMENT, make_v2
from moai_deploy.pipeline.project import Project

__all__ = ["ENVIRONMENT", "edit_environment", "make_v2", "reopen", "url_of"]


def edit_environment(project_dir: Path, **changes: Any) -> None:
    """Change the demo environment's overlay in the scratch spec and commit it."""
    demo.edit_environment(project_dir, ENVIRONMENT, **changes)


def reopen(project_dir: Path) -> Project:
    return Project.open(project_dir / "moai-deploy.yaml")


def url_of(project: Project) -> str:
    return f"http://127.0.0.1:{project.loaded.spec.port_of(ENVIRONMENT)}/"
