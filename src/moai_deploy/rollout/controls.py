"""The rollout's control requests (abort, pause, resume, promote), read from the ledger's
append-only log in order and folded into what the engine must do now.

An abort is final: a pause or resume after it changes nothing. A promote ends a pause and
is kept until a pause step or an inconclusive analysis takes it. What the requests add up
to is saved in the rollout state, so a resumed rollout still knows it after a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from moai_deploy.ledger.controls import ControlLog, ControlRequest
from moai_deploy.ledger.journal_models import ControlKind
from moai_deploy.ledger.store import Ledger
from moai_deploy.rollout.errors import AbortRequested
from moai_deploy.rollout.reporter import Reporter
from moai_deploy.rollout.state import RolloutState

ENGINE_ACTOR = "moai-deploy"
READ_EVERY = 0.2  # seconds between reads of the log while the engine waits


class Controls:
    """One release's control requests, as the engine sees them."""

    def __init__(
        self,
        ledger: Ledger,
        release_id: int,
        state: RolloutState,
        reporter: Reporter,
        save: Callable[[], None],
    ) -> None:
        self._log = ControlLog(ledger)
        self._release = release_id
        self._state = state
        self._reporter = reporter
        self._save = save
        self._read_at: float | None = None

    # -- reading the log -------------------------------------------------------------

    def poll(self, force: bool = False) -> None:
        """Take new requests (at most every READ_EVERY s unless `force`) and apply them."""
        now = time.monotonic()
        if not force and self._read_at is not None and now - self._read_at < READ_EVERY:
            return
        self._read_at = now
        taken = self._log.take(self._release)
        for request in taken:
            self._apply(request)
        if taken:
            self._save()

    def _apply(self, request: ControlRequest) -> None:
        st = self._state
        kind, by = request.kind, request.actor
        if st.aborted_by is not None:
            self._reporter.event(
                "control_ignored", request=request.id, kind=str(kind), by=by, why="aborted before"
            )
            return
        if kind is ControlKind.ABORT:
            st.aborted_by = by
        elif kind is ControlKind.PAUSE:
            st.paused_reason = request.reason or f"paused by {by}"
        elif kind is ControlKind.RESUME:
            st.paused_reason = None
        else:
            full = kind is ControlKind.PROMOTE_FULL or st.promote == "full"
            st.promote = "full" if full else "step"
            st.full_promote = st.full_promote or full
            st.paused_reason = None
            self._reporter.event("promoted", how=st.promote, by=by)
        self._reporter.event(
            "control", request=request.id, kind=str(kind), by=by, reason=request.reason
        )

    # -- what the engine asks --------------------------------------------------------

    def check_abort(self) -> None:
        """Raise AbortRequested once an abort was requested."""
        self.poll()
        if self._state.aborted_by is not None:
            raise AbortRequested(f"aborted by {self._state.aborted_by}")

    @property
    def paused(self) -> str | None:
        """The pause reason while paused (by request or by the engine), else None."""
        self.poll()
        return self._state.paused_reason

    @property
    def skipping(self) -> bool:
        """True once `promote --full` asked to skip every remaining step."""
        return self._state.full_promote

    def take_promote(self) -> str | None:
        """A pending promote ("step" or "full"), cleared as it is taken."""
        self.poll()
        wanted, self._state.promote = self._state.promote, None
        if wanted is not None:
            self._save()
        return wanted

    def pause_self(self, reason: str) -> None:
        """The engine's own pause: an entry in the log like anyone's, applied at once."""
        if self._state.paused_reason is None:
            self._log.request(self._release, ControlKind.PAUSE, ENGINE_ACTOR, reason)
            self.poll(force=True)
