"""Rollout locks in the ledger: one holder per (service, environment).

A lock row outlives a crashed holder on purpose: the next deploy sees who held it and
that the holder is dead, and a human (or `deploy --resume`) breaks it, audited.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from moai_deploy.ledger.models import RolloutLock, utcnow
from moai_deploy.ledger.store import Ledger


@dataclass(frozen=True)
class LockRecord:
    """Who holds a lock, since when, for what."""

    service: str
    environment: str
    holder: str
    host: str
    pid: int | None
    pid_started: str | None
    purpose: str
    version: str | None
    message: str | None
    acquired_at: datetime

    def holder_alive(self) -> bool | None:
        """True/False for a process on this host; None when it cannot be told from here."""
        if self.pid is None:
            return True  # a manual lock has no process: it is held until released
        if self.host != socket.gethostname():
            return None
        return process_start_marker(self.pid) == self.pid_started

    def describe(self) -> str:
        alive = self.holder_alive()
        state = {True: "", False: ", process is dead", None: ", on another host"}[alive]
        pid = f"pid {self.pid}{state}" if self.pid is not None else "manual lock"
        text = f"{self.holder} ({pid}, since {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC, "
        text += f"{self.purpose}" + (f" {self.version}" if self.version else "") + ")"
        return text + (f": {self.message}" if self.message else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "environment": self.environment,
            "holder": self.holder,
            "host": self.host,
            "pid": self.pid,
            "purpose": self.purpose,
            "version": self.version,
            "message": self.message,
            "acquired_at": self.acquired_at.isoformat(),
            "holder_alive": self.holder_alive(),
        }


def process_start_marker(pid: int) -> str | None:
    """The process's start time in clock ticks (from /proc), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime), counted after the parenthesised command name.
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass(frozen=True)
class LockRequest:
    """What a new holder says about itself."""

    holder: str
    purpose: str
    version: str | None = None
    message: str | None = None
    manual: bool = False  # held by a person until released, not by this process


def try_acquire(ledger: Ledger, service: str, environment: str, req: LockRequest) -> bool:
    """Take the lock if free; False if someone holds it (atomic: the primary key decides)."""
    pid = None if req.manual else os.getpid()
    row = RolloutLock(
        service=service,
        environment=environment,
        holder=req.holder,
        host=socket.gethostname(),
        pid=pid,
        pid_started=process_start_marker(pid) if pid is not None else None,
        purpose=req.purpose,
        version=req.version,
        message=req.message,
        acquired_at=utcnow(),
    )
    try:
        with ledger.write_session() as session:
            session.add(row)
    except IntegrityError:
        return False
    return True


def current(ledger: Ledger, service: str, environment: str) -> LockRecord | None:
    """The lock's holder, or None."""
    with ledger.read_session() as session:
        row = session.get(RolloutLock, (service, environment))
        return _record(row) if row is not None else None


def all_locks(ledger: Ledger, service: str | None = None) -> list[LockRecord]:
    with ledger.read_session() as session:
        query = select(RolloutLock).order_by(RolloutLock.service, RolloutLock.environment)
        if service is not None:
            query = query.where(RolloutLock.service == service)
        return [_record(row) for row in session.scalars(query)]


def release(ledger: Ledger, service: str, environment: str, *, pid: int | None) -> bool:
    """Drop the lock if it is held by `pid` (None: a manual lock); True if dropped."""
    with ledger.write_session() as session:
        done = session.execute(
            delete(RolloutLock).where(
                RolloutLock.service == service,
                RolloutLock.environment == environment,
                RolloutLock.pid.is_(None) if pid is None else RolloutLock.pid == pid,
            )
        )
        return bool(getattr(done, "rowcount", 0))


def force_release(ledger: Ledger, service: str, environment: str) -> LockRecord | None:
    """Break the lock whoever holds it; returns what was broken (the caller audits)."""
    with ledger.write_session() as session:
        row = session.get(RolloutLock, (service, environment))
        if row is None:
            return None
        record = _record(row)
        session.delete(row)
        return record


def _record(row: RolloutLock) -> LockRecord:
    return LockRecord(
        service=row.service,
        environment=row.environment,
        holder=row.holder,
        host=row.host,
        pid=row.pid,
        pid_started=row.pid_started,
        purpose=row.purpose,
        version=row.version,
        message=row.message,
        acquired_at=row.acquired_at,
    )
