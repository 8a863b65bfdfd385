"""A read-only view of a project's SQLite ledger through the standard library's sqlite3.

`moai-deploy status` reads through this instead of SQLAlchemy (which costs more CPU to
import than the whole status takes otherwise). It answers only when it can answer exactly
as `ledger.store.Ledger` would: the file exists and carries every migration head. Anything
else (PostgreSQL, a new or older schema, a locked or corrupt file) is `None`, and the caller
takes the full path, which migrates, reports and explains.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moai_deploy.ledger._heads import script_heads
from moai_deploy.ledger.records import ReleaseRecord, StepRecord

_RELEASE_COLUMNS = (
    "id, service, environment, version, commit_sha, spec_hash, artifact, strategy, status, "
    "message, created_at, started_at, finished_at, deployed_by, rollback_of, meta"
)
_STEP_COLUMNS = "id, release_id, sequence, kind, started_at, finished_at, outcome, detail"
_ACTIVE = ("pending", "in_progress")


class LightLedger:
    """Releases and steps of one SQLite ledger file, read only; see the module docstring."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @classmethod
    def open(cls, database: Path) -> LightLedger | None:
        """The ledger at `database`, or None when only the full path can answer for it."""
        if not database.is_file():
            return None
        heads = script_heads()
        if heads is None:
            return None
        try:
            connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=2.0)
        except sqlite3.Error:
            return None
        try:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.Error:
            connection.close()
            return None
        if frozenset(str(row[0]) for row in rows) != heads:
            connection.close()
            return None
        return cls(connection)

    def close(self) -> None:
        self._db.close()

    def live_release(self, service: str, environment: str) -> ReleaseRecord | None:
        """As `Ledger.live_release`: the most recently finished succeeded release."""
        found = self._releases(
            "status = 'succeeded' ORDER BY finished_at DESC, id DESC LIMIT 1",
            (service, environment),
        )
        return found[0] if found else None

    def in_progress(self, service: str, environment: str) -> list[ReleaseRecord]:
        """As `Ledger.in_progress`: pending or in-progress releases, oldest first."""
        return self._releases("status IN (?, ?) ORDER BY id", (service, environment, *_ACTIVE))

    def steps(self, release_id: int) -> list[StepRecord]:
        """As `Ledger.steps`: a release's steps in order."""
        rows = self._db.execute(
            f"SELECT {_STEP_COLUMNS} FROM release_steps WHERE release_id = ? "  # noqa: S608  # nosec B608 - constant columns
            "ORDER BY sequence",
            (release_id,),
        ).fetchall()
        return [
            StepRecord(
                id=r[0],
                release_id=r[1],
                sequence=r[2],
                kind=r[3],
                started_at=_utc(r[4]),
                finished_at=_utc_or_none(r[5]),
                outcome=r[6],
                detail=r[7],
            )
            for r in rows
        ]

    def _releases(self, where: str, params: tuple[Any, ...]) -> list[ReleaseRecord]:
        rows = self._db.execute(
            f"SELECT {_RELEASE_COLUMNS} FROM releases "  # noqa: S608  # nosec B608 - constant SQL
            f"WHERE service = ? AND environment = ? AND {where}",
            params,
        ).fetchall()
        return [_release(r) for r in rows]


def _release(r: tuple[Any, ...]) -> ReleaseRecord:
    return ReleaseRecord(
        id=r[0],
        service=r[1],
        environment=r[2],
        version=r[3],
        commit_sha=r[4],
        spec_hash=r[5],
        artifact=r[6],
        strategy=r[7],
        status=r[8],
        message=r[9],
        created_at=_utc(r[10]),
        started_at=_utc_or_none(r[11]),
        finished_at=_utc_or_none(r[12]),
        deployed_by=r[13],
        rollback_of=r[14],
        meta=json.loads(r[15]) if r[15] is not None else None,  # type: ignore[arg-type]
    )


def _utc(text: str) -> datetime:
    """A timestamp as SQLAlchemy's SQLite DateTime stores it, aware UTC (as UTCDateTime)."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_or_none(text: str | None) -> datetime | None:
    return None if text is None else _utc(text)
