"""Why a rollout stopped, as types the engine decides on (never by matching text).

Argo's words: a release judged bad or stuck is *aborted*; one that broke is *failed*.
"""

from __future__ import annotations

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.ledger.models import ReleaseStatus


class JudgedBadError(ReleaseFailedError):
    """The release was judged bad or stuck: it ends aborted."""

    status = ReleaseStatus.ABORTED


class AnalysisFailedError(JudgedBadError):
    """An analysis judged the new version bad (the message names metric, value, condition)."""


class ProgressDeadlineError(JudgedBadError):
    """New instances did not become ready before the strategy's progress deadline."""


class InstancesFailedError(ReleaseFailedError):
    """New instances crashed, never answered, or failed their smoke test: the release failed."""


class AbortRequested(Exception):
    """Stop the rollout and return traffic to stable (a request, or a decided verdict)."""

    def __init__(self, reason: str, status: ReleaseStatus = ReleaseStatus.ABORTED) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def undo_status(exc: BaseException) -> ReleaseStatus:
    """How a release that stopped with `exc` ends."""
    if isinstance(exc, AbortRequested):
        return exc.status
    if isinstance(exc, JudgedBadError):
        return ReleaseStatus.ABORTED
    return ReleaseStatus.FAILED
