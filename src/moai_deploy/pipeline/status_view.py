"""What `status` shows of one environment (plain data: no provider, no database)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from moai_deploy.ledger.records import ReleaseRecord, StepRecord
from moai_deploy.runtime.base import InstanceStatus


@dataclass(frozen=True)
class InstanceView:
    status: InstanceStatus
    ready: bool

    def to_dict(self) -> dict[str, Any]:
        s = self.status
        return {
            "name": s.name,
            "version": s.version,
            "group": s.group,
            "pid": s.pid,
            "port": s.port,
            "state": s.state.value,
            "ready": self.ready,
            "detail": s.detail,
            "log_file": str(s.log_file) if s.log_file else None,
        }


@dataclass(frozen=True)
class EnvironmentStatus:
    environment: str
    url: str
    live: ReleaseRecord | None
    unfinished: list[ReleaseRecord]
    instances: list[InstanceView]
    weights: dict[str, int] = field(default_factory=dict)
    stopped_at: str | None = None  # the unfinished release's last step, and its outcome
    paused: str | None = None  # why the unfinished release is paused
    continue_with: str | None = None  # the command that continues it
    router: str = "idle"  # serving | down (a release is live but nothing routes) | idle
    router_note: str | None = None  # who serves, when it is not the environment's own router

    @property
    def router_down(self) -> bool:
        return self.router == "down"

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "url": self.url,
            "live": self.live.to_dict() if self.live else None,
            "unfinished": [r.to_dict() for r in self.unfinished],
            "instances": [i.to_dict() for i in self.instances],
            "weights": self.weights,
            "stopped_at": self.stopped_at,
            "paused": self.paused,
            "continue_with": self.continue_with,
            "router": self.router,
            "router_note": self.router_note,
        }


def last_step_text(steps: Sequence[StepRecord]) -> str | None:
    """Where an unfinished release is (or where its killed deployer left it)."""
    if not steps:
        return None
    last = steps[-1]
    return f"step {last.sequence} {last.kind} ({last.outcome}): {last.detail}".strip()
