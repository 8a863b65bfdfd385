"""One rollout per (service, environment) at a time, held in the ledger.

The lock row names its holder; a crashed holder leaves the row behind, so the next
command can say who held it and that the holder is dead, instead of racing it.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from moai_deploy.errors import LockedError
from moai_deploy.ledger import locks
from moai_deploy.ledger.locks import LockRecord, LockRequest
from moai_deploy.ledger.store import Ledger

_POLL = 0.25
# Set by the control plane for the duration of one authenticated request.
_ACTING_AS: ContextVar[str | None] = ContextVar("moai_deploy_actor", default=None)


def actor() -> str:
    """Who is acting: the API token's name, else MOAI_DEPLOY_ACTOR, else user@host."""
    return (
        _ACTING_AS.get()
        or os.environ.get("MOAI_DEPLOY_ACTOR")
        or f"{getpass.getuser()}@{socket.gethostname()}"
    )


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Attribute everything done in the block (audit, releases, approvals) to `name`."""
    token = _ACTING_AS.set(name)
    try:
        yield
    finally:
        _ACTING_AS.reset(token)


def locked_message(service: str, environment: str, held: LockRecord) -> str:
    fix = "wait for it to finish, or retry with --lock-wait DURATION"
    if held.holder_alive() is False:
        fix = (
            "its process is gone: `moai-deploy deploy ENV --resume` continues its release, "
            "`moai-deploy lock release ENV --force --reason TEXT` breaks the lock"
        )
    elif held.pid is None:
        fix = "it was taken by hand: `moai-deploy lock release ENV` when the work is done"
    return f"{service}/{environment} is locked by {held.describe()}\n    fix: {fix}"


class RolloutLock:
    """The lock of one (service, environment)."""

    def __init__(self, ledger: Ledger, service: str, environment: str) -> None:
        self.ledger = ledger
        self.service = service
        self.environment = environment

    @contextmanager
    def hold(
        self, request: LockRequest, *, wait: float = 0.0, take_over_dead: bool = False
    ) -> Iterator[LockRecord | None]:
        """Hold the lock for the block; yields a dead holder's record if it was taken over.

        Raises LockedError (exit 3) naming the holder when it stays taken for `wait` s.
        """
        taken_over = self._acquire(request, wait, take_over_dead)
        try:
            yield taken_over
        finally:
            locks.release(self.ledger, self.service, self.environment, pid=os.getpid())

    def _acquire(
        self, request: LockRequest, wait: float, take_over_dead: bool
    ) -> LockRecord | None:
        key = (self.ledger, self.service, self.environment)
        deadline = time.monotonic() + wait
        while True:
            if locks.try_acquire(*key, request):
                return None
            held = locks.current(*key)
            if held is None:
                continue  # released between our insert and our read: try again at once
            if take_over_dead and held.holder_alive() is False:
                locks.force_release(*key)
                if locks.try_acquire(*key, request):
                    return held
            if time.monotonic() >= deadline:
                raise LockedError(locked_message(self.service, self.environment, held))
            time.sleep(_POLL)
