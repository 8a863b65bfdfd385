"""Ports another program holds are bad input, found before anything is stopped or written."""

from __future__ import annotations

from collections.abc import Iterable

from moai_deploy.errors import SpecError, SpecProblem
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.routing import preview_entrypoint
from moai_deploy.spec.loader import spec_line

Loc = tuple[int | str, ...]


def _key_of(project: Project, entrypoint: str) -> Loc:
    spec = project.loaded.spec
    for name, overlay in spec.environments.items():
        if entrypoint == name:
            if overlay.port is None and spec.defaults.port is not None:
                return ("defaults", "port")
            return ("environments", name, "port")
        if entrypoint == preview_entrypoint(name):
            return ("environments", name, "strategy", "preview_port")
    return ("environments",)


def busy_port_problems(project: Project, environments: Iterable[str]) -> list[SpecProblem]:
    """One problem per port of `environments` that a process other than the environment's
    own router holds (another program, or another environment's router)."""
    problems = []
    busy = {
        entrypoint: port
        for environment in environments
        for entrypoint, port in project.routers.busy_ports(environment).items()
    }
    for entrypoint, port in busy.items():
        loc = _key_of(project, entrypoint)
        line = spec_line(project.loaded.path, loc) if loc != ("environments",) else None
        problems.append(
            SpecProblem(
                project.loaded.path,
                line,
                ".".join(str(part) for part in loc),
                f"port {port} ({entrypoint}) is already in use by another program",
                "stop that program, or choose a free port for this key",
            )
        )
    return problems


def check_ports(project: Project, environments: Iterable[str]) -> None:
    """SpecError (exit 2) if a port of `environments` is held by another program."""
    problems = busy_port_problems(project, environments)
    if problems:
        raise SpecError(problems)
