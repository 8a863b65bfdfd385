"""The rollout's persisted state (release.meta["rollout"]), written before every transition
so a crash can be resumed. Control requests live in the ledger's control log; what they
add up to (paused, promoted, aborted) is kept here once the engine has taken them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from moai_deploy.rollout.plan import Step


@dataclass
class RolloutState:
    """Where a release is; enough to resume or abort it from another process."""

    new_group: str
    stable_group: str | None
    stable_release: int | None
    plan_digest: str
    skip_analysis: bool = False
    step: int = 0  # index of the next step to run (a started, unfinished one re-runs)
    weight: int = 0  # the new version's share of the traffic
    routed_new: list[str] = field(default_factory=list)  # rolling: new instances routed
    routed_old: list[str] = field(default_factory=list)  # rolling: old instances routed
    rolling: bool = False
    pause_started: float | None = None  # wall clock, so a resumed pause keeps its end
    paused_reason: str | None = None  # paused by a request or by the engine itself
    promote: str | None = None  # a promote taken from the log, not yet used: "step"/"full"
    full_promote: bool = False  # `promote --full`: skip every remaining step
    aborted_by: str | None = None  # an abort taken from the log
    done: bool = False  # every step ran (a live release can still owe its scale-down)
    approvals: int = 0  # approvals required before the release starts

    def to_meta(self) -> dict[str, Any]:
        return {"rollout": asdict(self)}

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> RolloutState:
        data = meta.get("rollout")
        if not isinstance(data, dict):
            raise ValueError("release has no rollout state")
        return cls(**data)


def plan_digest(steps: list[Step]) -> str:
    """A fingerprint of a plan: a resumed rollout must follow the plan it started with."""
    text = json.dumps([(s.kind, s.weight, s.duration, s.start, s.drain) for s in steps])
    return hashlib.sha256(text.encode()).hexdigest()[:16]
