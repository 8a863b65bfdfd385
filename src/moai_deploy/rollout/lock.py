"""One rollout per (service, environment) at a time: an flock the kernel drops if we die."""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from moai_deploy.errors import LockedError


def actor() -> str:
    """Who is acting: MOAI_DEPLOY_ACTOR, else user@host."""
    return os.environ.get("MOAI_DEPLOY_ACTOR") or f"{getpass.getuser()}@{socket.gethostname()}"


@contextmanager
def rollout_lock(locks_dir: Path, service: str, environment: str, purpose: str) -> Iterator[None]:
    """Hold the lock for the block; LockedError (exit 3) naming the holder if taken."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    path = locks_dir / f"{service}-{environment}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(_held_message(path, service, environment)) from None
        holder = {
            "actor": actor(),
            "pid": os.getpid(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "purpose": purpose,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing drops the flock


def _held_message(path: Path, service: str, environment: str) -> str:
    try:
        holder = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        holder = {}
    who = holder.get("actor", "another process")
    return (
        f"{service}/{environment} is locked by {who} (pid {holder.get('pid', '?')}, since "
        f"{holder.get('since', '?')}, {holder.get('purpose', 'rollout')})\n"
        "    fix: wait for that rollout to finish, then retry"
    )
