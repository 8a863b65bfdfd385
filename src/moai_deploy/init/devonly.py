"""Packages the code imports unconditionally but only the dev dependencies provide (e.g.
Django settings that list `debug_toolbar` in INSTALLED_APPS while django-debug-toolbar is
a dev dependency): a release built from the release dependencies alone would crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moai_deploy.build.dependencies import dev_requirements, normalize, requirement_name
from moai_deploy.init.django import DjangoFacts
from moai_deploy.init.sources import ProjectFiles


def _candidates(module: str) -> set[str]:
    """Distribution names that commonly provide `module` (debug_toolbar ->
    debug-toolbar, django-debug-toolbar)."""
    name = normalize(module)
    return {name, f"django-{name}", name.removeprefix("django-")}


def dev_only_packages(
    directory: Path,
    pyproject: dict[str, Any],
    files: ProjectFiles,
    django: DjangoFacts | None,
    release: frozenset[str],
) -> dict[str, str]:
    """module -> the dev distribution that provides it, for modules no release one does."""
    if django is None:
        return {}
    dev = {n for line in dev_requirements(directory, pyproject) if (n := requirement_name(line))}
    found: dict[str, str] = {}
    for entry in django.apps:
        module = entry.split(".", 1)[0]
        if module == "django" or files.module(module) is not None:
            continue  # Django's own, or the project's
        candidates = _candidates(module)
        if candidates & release:
            continue
        provider = sorted(candidates & dev)
        if provider:
            found[module] = provider[0]
    return found
