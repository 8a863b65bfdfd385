"""A release whose failure could not be recorded (full disk, read-only ledger) is
reconciled by the next command: marked failed, its dead holder's lock released, said so.

When the ledger stops accepting writes mid-release, the engine still returns traffic to
stable and stops the new instances; what it cannot do is write that down. It leaves a
zero-byte marker (a name in `locks/`, which needs no free blocks) instead.
"""

from __future__ import annotations

import contextlib
import os

from moai_deploy.errors import MoaiError
from moai_deploy.ledger import locks
from moai_deploy.paths import PRIVATE_FILE_MODE
from moai_deploy.pipeline.preflight import audit
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.reporter import Reporter

_PREFIX = "unrecorded-"
_LOCK = "lock"  # the marker of a run whose lock may not have been released
_MESSAGE = (
    "reconciled: the release failed while the ledger could not be written (full disk or "
    "read-only state folder); traffic had gone back to stable and its instances were stopped"
)


def mark_unrecorded(
    project: Project, environment: str, release_id: int | None, error: MoaiError
) -> MoaiError:
    """Best effort: remember that `release_id` ended but its end is not in the ledger (None:
    that the lock of this run may not have been released); returns `error` (to raise)."""
    with contextlib.suppress(OSError):
        project.layout.locks.mkdir(parents=True, exist_ok=True)
        name = project.layout.locks / f"{_PREFIX}{environment}-{release_id or _LOCK}"
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    return error


def reconcile(project: Project, environment: str, reporter: Reporter) -> list[int]:
    """Record the failures the markers of `environment` stand for; the release ids."""
    done = []
    for marker in sorted(project.layout.locks.glob(f"{_PREFIX}{environment}-*")):
        suffix = marker.name.rsplit("-", 1)[1]
        release_id = int(suffix) if suffix.isdigit() else None
        if release_id is not None:
            release = project.ledger.get_release(release_id)
            if release.status in ("pending", "in_progress"):
                project.ledger.transition(release_id, "failed", message=_MESSAGE)
        held = locks.current(project.ledger, project.service, environment)
        released = held is not None and held.holder_alive() is False
        if released:
            locks.force_release(project.ledger, project.service, environment)
        audit(project, environment, "reconcile", "succeeded", release=release_id)
        what = f"release #{release_id} marked failed" if release_id else "nothing unfinished"
        lock = "the dead deployer's lock released" if released else "no dead lock held"
        reporter.event("reconciled", message=f"{what}, {lock}: {_MESSAGE}")
        marker.unlink()
        if release_id is not None:
            done.append(release_id)
    return done
