"""The rollout's view of analysis: run one analysis, or watch in the background.

The engine depends on this small protocol only; `moai_deploy.analysis` provides the
implementation over real metric providers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from moai_deploy.spec.analysis import AnalysisSpec

SUCCESSFUL = "successful"
FAILED = "failed"
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class AnalysisTarget:
    """Which router backends hold the new version and the stable one."""

    canary: str
    stable: str | None


@dataclass(frozen=True)
class AnalysisVerdict:
    """How an analysis ended: SUCCESSFUL, FAILED or INCONCLUSIVE, and what decided it
    (the metric, its value and its condition), e.g. "success-rate failed (0.62: ...)"."""

    phase: str
    message: str = ""


Listener = Callable[[dict[str, Any]], None]


class BackgroundAnalysis(Protocol):
    def verdict(self) -> AnalysisVerdict | None:
        """None while undecided."""
        ...

    def stop(self) -> None: ...


class AnalysisGateway(Protocol):
    def run(
        self,
        spec: AnalysisSpec,
        target: AnalysisTarget,
        interrupted: Callable[[], bool],
        listener: Listener,
    ) -> AnalysisVerdict:
        """Run to completion (or until `interrupted()`); never raises but for an abort."""
        ...

    def background(
        self, spec: AnalysisSpec, target: AnalysisTarget, listener: Listener
    ) -> BackgroundAnalysis:
        """Start measuring in the background until stopped."""
        ...
