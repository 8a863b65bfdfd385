"""Shared set-up of the benchmarks: a scratch git copy of the example service."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from moai_deploy.cli.demo import ENVIRONMENT, make_v2
from moai_deploy.pipeline.project import Project

__all__ = ["ENVIRONMENT", "edit_environment", "make_v2", "reopen", "url_of"]


def edit_environment(project_dir: Path, **changes: Any) -> None:
    """Change the demo environment's overlay in the scratch spec and commit it."""
    yaml = YAML(typ="rt")
    path = project_dir / "moai-deploy.yaml"
    data = yaml.load(path)
    data["environments"][ENVIRONMENT].update(changes)
    yaml.dump(data, path)
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@localhost",
            "-C",
            str(project_dir),
            "commit",
            "--allow-empty",
            "-q",
            "-am",
            "bench: spec change",
        ],
        check=True,
    )


def reopen(project_dir: Path) -> Project:
    return Project.open(project_dir / "moai-deploy.yaml")


def url_of(project: Project) -> str:
    return f"http://127.0.0.1:{project.loaded.spec.port_of(ENVIRONMENT)}/"
