"""One finding of `moai-deploy doctor`: what was checked, whether it passed, and the fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """A prerequisite of an environment, checked now."""

    scope: str  # an environment name, or "project"
    name: str  # e.g. "docker engine reachable"
    ok: bool
    detail: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "scope": self.scope,
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "fix": self.fix,
        }
