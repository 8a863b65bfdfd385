"""The release ledger: the only API the rest of moai-deploy uses to record releases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, Unpack

from sqlalchemy import Connection, Engine, Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from moai_deploy.errors import MoaiError
from moai_deploy.ledger._engine import WRITE_OPTION
from moai_deploy.ledger._errors import open_engine, translated
from moai_deploy.ledger.models import (
    AuditEvent,
    Release,
    ReleaseStatus,
    ReleaseStep,
    StepOutcome,
    utcnow,
)
from moai_deploy.ledger.records import (
    AuditRecord,
    NewAuditEvent,
    NewRelease,
    ReleaseRecord,
    StepRecord,
)

_Q = TypeVar("_Q", bound=Select[Any])
_S = ReleaseStatus
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    _S.PENDING: frozenset({_S.IN_PROGRESS, _S.FAILED, _S.ABORTED}),
    _S.IN_PROGRESS: frozenset({_S.SUCCEEDED, _S.FAILED, _S.ABORTED, _S.ROLLED_BACK}),
    _S.SUCCEEDED: frozenset({_S.ROLLED_BACK}),
}
TERMINAL_STATUSES = frozenset({_S.SUCCEEDED, _S.FAILED, _S.ABORTED, _S.ROLLED_BACK})
_FINISHED_STEP_OUTCOMES = frozenset(
    {StepOutcome.SUCCEEDED, StepOutcome.FAILED, StepOutcome.SKIPPED}
)


class LedgerError(MoaiError):
    """The ledger refused an operation (unknown release, illegal transition, ...)."""


def ledger_url(state_root_db_path: Path) -> str:
    """Database URL: `$MOAI_DEPLOY_DB` if set, else the SQLite file at the given path."""
    return os.environ.get("MOAI_DEPLOY_DB") or f"sqlite:///{state_root_db_path}"


class Ledger:
    """Release history, steps and audit trail; every write is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Ledger:
        """Connect (creating the SQLite folder if needed) and migrate to the latest schema."""
        engine = open_engine(url)
        return cls(engine)

    def close(self) -> None:
        """Release all database connections."""
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """One write transaction (BEGIN IMMEDIATE on SQLite); for ledger extension modules."""
        url = self._engine.url
        with translated(url, writing=True), self._sessions() as session, session.begin():
            session.connection(execution_options={WRITE_OPTION: True})
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """One read transaction; for ledger extension modules."""
        url = self._engine.url
        with translated(url, writing=False), self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """One read transaction on a Core connection (no ORM session): for hot lookups."""
        url = self._engine.url
        with (
            translated(url, writing=False),
            self._engine.connect() as connection,
            connection.begin(),
        ):
            yield connection

    _write = write_session
    _read = read_session

    # -- releases ---------------------------------------------------------------

    def create_release(self, **fields: Unpack[NewRelease]) -> ReleaseRecord:
        """Record a new release in status `pending`."""
        row = Release(
            **{k: v for k, v in fields.items() if k != "meta"},
            meta=dict(fields.get("meta") or {}),
            status=ReleaseStatus.PENDING.value,
            created_at=utcnow(),
        )
        with self._write() as session:
            if row.rollback_of is not None:
                _locked_release(session, row.rollback_of)  # a clear error, not an FK failure
            session.add(row)
            session.flush()
            return ReleaseRecord.from_row(row)

    def transition(
        self,
        release_id: int,
        status: str,
        *,
        message: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> ReleaseRecord:
        """Move a release to `status` if allowed; sets started/finished times; merges meta."""
        with self._write() as session:
            row = _locked_release(session, release_id)
            if status not in ALLOWED_TRANSITIONS.get(row.status, frozenset()):
                raise LedgerError(
                    f"release {release_id} cannot go from {row.status!r} to {status!r}"
                )
            now = utcnow()
            if status == ReleaseStatus.IN_PROGRESS:
                row.started_at = now
            if status in TERMINAL_STATUSES and row.finished_at is None:
                row.finished_at = now
            row.status = str(status)
            if message is not None:
                row.message = message
            if meta:
                row.meta = {**row.meta, **meta}
            return ReleaseRecord.from_row(row)

    def update_meta(self, release_id: int, meta: dict[str, Any]) -> ReleaseRecord:
        """Merge `meta` into the release's meta (top-level keys replace)."""
        with self._write() as session:
            row = _locked_release(session, release_id)
            row.meta = {**row.meta, **meta}  # a new dict, so the ORM sees the change
            return ReleaseRecord.from_row(row)

    def get_release(self, release_id: int) -> ReleaseRecord:
        """The release with this id; LedgerError if there is none."""
        with self._read() as session:
            row = session.get(Release, release_id)
            if row is None:
                raise LedgerError(f"no release with id {release_id}")
            return ReleaseRecord.from_row(row)

    def list_releases(
        self, service: str | None = None, environment: str | None = None, limit: int = 50
    ) -> list[ReleaseRecord]:
        """Releases, newest first, optionally for one service and/or environment."""
        query = _scoped(select(Release), Release, service, environment)
        return self._releases(query.order_by(Release.id.desc()).limit(limit))

    def live_release(self, service: str, environment: str) -> ReleaseRecord | None:
        """The release currently serving: the most recently finished succeeded one."""
        found = self.succeeded_releases(service, environment, limit=1)
        return found[0] if found else None

    def succeeded_releases(
        self, service: str, environment: str, limit: int | None = None
    ) -> list[ReleaseRecord]:
        """Succeeded releases, most recently finished first (rollback candidates)."""
        query = (
            _scoped(select(Release), Release, service, environment)
            .where(Release.status == ReleaseStatus.SUCCEEDED.value)
            .order_by(Release.finished_at.desc(), Release.id.desc())
            .limit(limit)
        )
        return self._releases(query)

    def find_release(self, service: str, environment: str, version: str) -> ReleaseRecord | None:
        """The newest release of `version`, whatever its status."""
        query = (
            _scoped(select(Release), Release, service, environment)
            .where(Release.version == version)
            .order_by(Release.id.desc())
            .limit(1)
        )
        found = self._releases(query)
        return found[0] if found else None

    def in_progress(self, service: str, environment: str) -> list[ReleaseRecord]:
        """Releases not yet finished (pending or in_progress), oldest first."""
        active = (ReleaseStatus.PENDING.value, ReleaseStatus.IN_PROGRESS.value)
        query = (
            _scoped(select(Release), Release, service, environment)
            .where(Release.status.in_(active))
            .order_by(Release.id)
        )
        return self._releases(query)

    def _releases(self, query: Select[Any]) -> list[ReleaseRecord]:
        with self._read() as session:
            return [ReleaseRecord.from_row(row) for row in session.scalars(query)]

    # -- steps -----------------------------------------------------------------

    def start_step(self, release_id: int, kind: str, detail: str = "") -> StepRecord:
        """Append a running step to a release (sequence numbers 1..n)."""
        with self._write() as session:
            _locked_release(session, release_id)  # serialises sequence numbering on PG
            last = session.scalar(
                select(func.max(ReleaseStep.sequence)).where(ReleaseStep.release_id == release_id)
            )
            row = ReleaseStep(
                release_id=release_id,
                sequence=(last or 0) + 1,
                kind=kind,
                started_at=utcnow(),
                outcome=StepOutcome.RUNNING.value,
                detail=detail,
            )
            session.add(row)
            session.flush()
            return StepRecord.from_row(row)

    def finish_step(self, step_id: int, outcome: str, detail: str | None = None) -> StepRecord:
        """Close a running step with succeeded/failed/skipped; `detail` replaces if given."""
        if outcome not in _FINISHED_STEP_OUTCOMES:
            raise LedgerError(f"a step cannot finish as {outcome!r}")
        with self._write() as session:
            row = session.get(ReleaseStep, step_id, with_for_update=True)
            if row is None:
                raise LedgerError(f"no release step with id {step_id}")
            if row.outcome != StepOutcome.RUNNING:
                raise LedgerError(f"step {step_id} already finished as {row.outcome!r}")
            row.outcome = str(outcome)
            row.finished_at = utcnow()
            if detail is not None:
                row.detail = detail
            return StepRecord.from_row(row)

    def steps(self, release_id: int) -> list[StepRecord]:
        """The steps of a release in order."""
        query = (
            select(ReleaseStep)
            .where(ReleaseStep.release_id == release_id)
            .order_by(ReleaseStep.sequence)
        )
        with self._read() as session:
            return [StepRecord.from_row(row) for row in session.scalars(query)]

    # -- audit (append-only: no update or delete on purpose) --------------------

    def record_audit(self, **fields: Unpack[NewAuditEvent]) -> AuditRecord:
        """Append one audit event."""
        row = AuditEvent(
            **{k: v for k, v in fields.items() if k != "detail"},
            detail=dict(fields.get("detail") or {}),
            at=utcnow(),
        )
        with self._write() as session:
            session.add(row)
            session.flush()
            return AuditRecord.from_row(row)

    def list_audit(
        self, service: str | None = None, environment: str | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        """Audit events, newest first."""
        query = _scoped(select(AuditEvent), AuditEvent, service, environment)
        query = query.order_by(AuditEvent.id.desc()).limit(limit)
        with self._read() as session:
            return [AuditRecord.from_row(row) for row in session.scalars(query)]


def _locked_release(session: Session, release_id: int) -> Release:
    row = session.get(Release, release_id, with_for_update=True)
    if row is None:
        raise LedgerError(f"no release with id {release_id}")
    return row


def _scoped(
    query: _Q, model: type[Release] | type[AuditEvent], service: str | None, environment: str | None
) -> _Q:
    if service is not None:
        query = query.where(model.service == service)
    if environment is not None:
        query = query.where(model.environment == environment)
    return query


from moai_deploy.ledger import _tables  # noqa: E402,F401 - every table and event, once Ledger exists
