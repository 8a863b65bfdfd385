"""Gate runs in the ledger: stored with every result, linked to the release they allowed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from moai_deploy.gates.model import Finding, GateOutcome, GateResult, GateRun, GateStatus
from moai_deploy.ledger.gate_models import GateResultRow, GateRunRow
from moai_deploy.ledger.models import Release
from moai_deploy.ledger.store import Ledger, LedgerError


class GateStore:
    """Reads and writes gate runs through the ledger's sessions."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def save(self, run: GateRun, service: str) -> int:
        """Store a run and its results in one transaction; returns (and sets) its id."""
        row = GateRunRow(
            service=service,
            environment=run.environment,
            project_dir=run.project_dir,
            started_at=run.started_at,
            duration=run.duration,
            passed=run.passed,
        )
        with self.ledger.write_session() as session:
            session.add(row)
            session.flush()
            session.add_all(_result_row(row.id, outcome) for outcome in run.outcomes)
        run.run_id = row.id
        return row.id

    def link_to_release(self, run_id: int, release_id: int) -> None:
        """Record that this gate run allowed this release."""
        with self.ledger.write_session() as session:
            row = session.get(GateRunRow, run_id, with_for_update=True)
            if row is None:
                raise LedgerError(f"no gate run with id {run_id}")
            if session.get(Release, release_id) is None:
                raise LedgerError(f"no release with id {release_id}")
            row.release_id = release_id

    def get(self, run_id: int) -> GateRun:
        """A stored run with its outcomes; LedgerError if there is none."""
        with self.ledger.read_session() as session:
            row = session.get(GateRunRow, run_id)
            if row is None:
                raise LedgerError(f"no gate run with id {run_id}")
            return _run(row, _results_of(session, run_id))

    def for_release(self, release_id: int) -> list[GateRun]:
        """The gate runs linked to a release, oldest first."""
        query = select(GateRunRow).where(GateRunRow.release_id == release_id)
        with self.ledger.read_session() as session:
            rows = list(session.scalars(query.order_by(GateRunRow.id)))
            return [_run(row, _results_of(session, row.id)) for row in rows]

    def list_runs(
        self, service: str, environment: str | None = None, limit: int = 20
    ) -> list[GateRun]:
        """Recent runs of a service (one environment when given), newest first."""
        query = select(GateRunRow).where(GateRunRow.service == service)
        if environment is not None:
            query = query.where(GateRunRow.environment == environment)
        with self.ledger.read_session() as session:
            rows = list(session.scalars(query.order_by(GateRunRow.id.desc()).limit(limit)))
            return [_run(row, _results_of(session, row.id)) for row in rows]


def _result_row(run_id: int, outcome: GateOutcome) -> GateResultRow:
    result = outcome.result
    return GateResultRow(
        run_id=run_id,
        gate=result.gate,
        status=result.status.value,
        required=outcome.required,
        on_error=outcome.on_error,
        blocking=outcome.blocking,
        cached=result.cached,
        duration=result.duration,
        note=result.note,
        report_path=result.report_path,
        tool_version=result.tool_version,
        findings=[f.to_dict() for f in result.findings],
    )


def _results_of(session: Session, run_id: int) -> list[GateResultRow]:
    query = select(GateResultRow).where(GateResultRow.run_id == run_id)
    return list(session.scalars(query.order_by(GateResultRow.id)))


def _run(row: GateRunRow, results: list[GateResultRow]) -> GateRun:
    outcomes = [
        GateOutcome(
            GateResult(
                gate=r.gate,
                status=GateStatus(r.status),
                findings=tuple(Finding.from_dict(f) for f in r.findings),
                duration=r.duration,
                report_path=r.report_path,
                note=r.note,
                tool_version=r.tool_version,
                cached=r.cached,
            ),
            r.required,
            r.on_error,
        )
        for r in results
    ]
    return GateRun(row.project_dir, row.environment, row.started_at, outcomes, row.duration, row.id)
