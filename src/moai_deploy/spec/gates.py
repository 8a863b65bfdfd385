"""The `gates:` section: which quality gates run, with what thresholds, required where."""

from __future__ import annotations

from moai_deploy.spec._base import Section


class GatesSpec(Section):
    """Quality gates (lint, types, tests + coverage, security, TRUST 5, TAG chain)."""
