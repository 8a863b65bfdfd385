"""The `targets:` section: what rendered artifacts (Docker, Kubernetes, cloud, CI) need."""

from __future__ import annotations

from moai_deploy.spec._base import Section


class TargetsSpec(Section):
    """Settings for rendering deployment artifacts (image, resources, ingress, ...)."""


class EnvironmentTargets(Section):
    """Per-environment overrides of the render settings."""
