"""The runtime drivers by name (like pyinfra's connectors): the spec's `runtime:` value
picks one, and only the composition root (`pipeline/project.py`) asks for it.

A new driver (e.g. `swarm`, `kubernetes`) is a folder `runtime/<name>/` with a
`create(settings) -> Runtime` function, registered here and named in the spec's
`RuntimeName`; nothing in `rollout/` or `pipeline/` changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from moai_deploy.paths import StateLayout
from moai_deploy.runtime.base import Runtime
from moai_deploy.spec.models import Spec


@dataclass(frozen=True)
class RuntimeSettings:
    """What every driver is created with: the project's spec and its folders."""

    spec: Spec
    project_dir: Path
    layout: StateLayout
    cache_dir: Path


RuntimeFactory = Callable[[RuntimeSettings], Runtime]

# name -> "module:function"; imported only when asked for (Docker's SDK stays unloaded locally).
_DRIVERS: dict[str, str] = {
    "local": "moai_deploy.runtime.local.driver:create",
    "docker": "moai_deploy.runtime.docker.driver:create",
}


def register(name: str, target: str) -> None:
    """Add a driver: `target` is "package.module:function" returning a Runtime."""
    _DRIVERS[name] = target


def names() -> list[str]:
    return sorted(_DRIVERS)


def create(name: str, settings: RuntimeSettings) -> Runtime:
    """The driver called `name`, created for `settings`."""
    if name not in _DRIVERS:
        raise KeyError(f"unknown runtime {name!r}; known: {', '.join(names())}")
    module_name, _, function = _DRIVERS[name].partition(":")
    factory = cast(RuntimeFactory, getattr(importlib.import_module(module_name), function))
    return factory(settings)
