"""The rollout lock by hand: who holds it, taking it for maintenance, releasing or breaking it."""

from __future__ import annotations

from typing import Any

from moai_deploy.errors import BadInputError, LockedError
from moai_deploy.ledger import locks
from moai_deploy.pipeline.preflight import audit
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.lock import actor, locked_message


def held_locks(project: Project) -> list[dict[str, Any]]:
    """Every lock of the project's service; `summary` is the line a person reads."""
    return [
        {**held.to_dict(), "summary": locked_message(held.service, held.environment, held)}
        for held in locks.all_locks(project.ledger, project.service)
    ]


def acquire(project: Project, environment: str, message: str) -> dict[str, Any]:
    """Hold the lock by hand: rollouts exit 3 until it is released. LockedError if held."""
    request = locks.LockRequest(actor(), "manual", message=message, manual=True)
    if not locks.try_acquire(project.ledger, project.service, environment, request):
        held = locks.current(project.ledger, project.service, environment)
        if held is not None:
            raise LockedError(locked_message(project.service, environment, held))
    audit(project, environment, "lock_acquire", "succeeded", message=message)
    return {"environment": environment, "holder": actor(), "message": message}


def release(project: Project, environment: str, force_reason: str | None) -> dict[str, Any]:
    """Release the manual lock; with a reason, break whatever lock is held (audited)."""
    if force_reason is not None:
        broken = locks.force_release(project.ledger, project.service, environment)
        holder = broken.describe() if broken else None
        audit(project, environment, "lock_break", "succeeded", reason=force_reason, holder=holder)
        return {"environment": environment, "released": broken is not None, "broke": holder}
    if not locks.release(project.ledger, project.service, environment, pid=None):
        raise BadInputError(
            f"{environment}: no manual lock held\n"
            "    fix: `moai-deploy lock release ENV --force --reason TEXT` breaks another holder's"
        )
    audit(project, environment, "lock_release", "succeeded")
    return {"environment": environment, "released": True, "broke": None}
