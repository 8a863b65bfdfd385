"""Fault injection against the real data plane: the e2e fixtures (a scratch copy of the
example service, everything stopped after), plus helpers to break things on purpose."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ruamel.yaml import YAML

from ..e2e.conftest import (
    ENV,
    edit_spec,
    make_v2,
    project,
    project_dir,
    reopen,
    router,
    runtime,
)

__all__ = [
    "ENV",
    "add_environment",
    "edit_spec",
    "make_v2",
    "project",
    "project_dir",
    "reopen",
    "router",
    "runtime",
]


def add_environment(project_dir: Path, name: str, **settings: object) -> None:
    """Add an environment to the scratch spec and commit it."""
    yaml = YAML(typ="rt")
    spec_path = project_dir / "moai-deploy.yaml"
    data = yaml.load(spec_path)
    data["environments"][name] = dict(settings)
    yaml.dump(data, spec_path)
    subprocess.run(
        ["git", "-C", str(project_dir), "commit", "-qam", f"spec: environment {name}"],
        check=True,
    )
