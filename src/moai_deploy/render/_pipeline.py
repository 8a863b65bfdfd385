"""What both CI targets share: which environments they deploy, with which secrets."""

from __future__ import annotations

from dataclasses import dataclass

from moai_deploy.render.context import RenderContext, merged_targets
from moai_deploy.spec.resolve import resolve_environment
from moai_deploy.spec.secrets import references

SCAN_SEVERITY = "HIGH,CRITICAL"


@dataclass(frozen=True)
class Stage:
    """One deploy job: the environment, its public URL and the secrets its deploy needs."""

    environment: str
    url: str | None
    secrets: tuple[str, ...]


def stages(ctx: RenderContext) -> list[Stage]:
    """Staging, then production, as far as the spec declares them."""
    found: list[Stage] = []
    for name in (ctx.targets.ci.staging, ctx.targets.ci.production):
        if name is None or name not in ctx.spec.environments:
            continue
        env = resolve_environment(ctx.spec, name)
        host = merged_targets(ctx.spec, name).ingress.host
        url = f"https://{host}" if host else None
        found.append(Stage(name, url, tuple(references(env.env.values()))))
    return found


def registry(ctx: RenderContext) -> str:
    """The registry host of the image repository (Docker Hub when it names none)."""
    first = ctx.repository.split("/")[0]
    return first if "/" in ctx.repository and ("." in first or ":" in first) else "docker.io"


def header(ctx: RenderContext, variables: list[str]) -> str:
    """A comment naming the CI secrets/variables the pipeline reads (names only)."""
    lines = [
        "# Rendered by moai-deploy from moai-deploy.yaml; edit the spec, not this file.",
        "# Pipeline: quality gates -> build -> scan (HIGH/CRITICAL block) -> push -> "
        "staging -> production (manual approval).",
    ]
    if variables:
        lines.append("# Secrets to define in the CI settings: " + ", ".join(sorted(variables)))
    return "\n".join(lines) + "\n"
