"""Environment consistency: differences between environments not declared by an overlay.

For each environment E other than the reference R, E is rendered a second time with R's
overlay in place of its own. Whatever still differs from R's render (after writing both
environment names as `{environment}`) cannot come from what E's overlay declares: it comes
from E's name or position (built-in per-name defaults, ports by order, accessories
restricted by name, ...). Those are the undeclared differences this report lists.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from moai_deploy.render import render
from moai_deploy.spec import models

PLACEHOLDER = "{environment}"


@dataclass(frozen=True)
class Difference:
    """One file that differs between the reference and another environment by more than
    the other's overlay."""

    reference: str
    environment: str
    path: str
    diff: tuple[str, ...]


def _neutral(text: str, environment: str) -> str:
    return re.sub(rf"(?<![A-Za-z0-9]){re.escape(environment)}(?![A-Za-z0-9])", PLACEHOLDER, text)


def _with_overlay_of(spec: models.Spec, environment: str, reference: str) -> models.Spec:
    environments = dict(spec.environments)
    environments[environment] = spec.environments[reference]
    return spec.model_copy(update={"environments": environments})


def undeclared_differences(
    spec: models.Spec, version: str, reference: str | None = None
) -> list[Difference]:
    """Every undeclared difference between `reference` (default: the first environment)
    and each other environment, as unified diffs per file."""
    names = list(spec.environments)
    base_name = reference or names[0]
    base = render(spec, base_name, version)
    found: list[Difference] = []
    for name in names:
        if name == base_name:
            continue
        swapped = render(_with_overlay_of(spec, name, base_name), name, version)
        for path in sorted(set(base) | set(swapped)):
            if base.get(path) == swapped.get(path):
                continue  # e.g. CI pipelines: the same file whichever environment renders it
            before = _neutral(base.get(path, ""), base_name).splitlines()
            after = _neutral(swapped.get(path, ""), name).splitlines()
            if before != after:
                lines = difflib.unified_diff(
                    before, after, f"{base_name}/{path}", f"{name}/{path}", n=0, lineterm=""
                )
                found.append(Difference(base_name, name, path, tuple(lines)))
    return found
