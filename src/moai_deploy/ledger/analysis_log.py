"""Analysis runs and every measurement they took, in the ledger (not only on the terminal).

A run is opened when an analysis starts (an `analysis` step, the background analysis of a
canary, a blue-green pre/post-promotion analysis), each measurement is appended as it is
judged, and the run is closed with its phase and the message naming what decided it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from moai_deploy.ledger.journal_models import AnalysisRunRow, MeasurementRow
from moai_deploy.ledger.models import utcnow
from moai_deploy.ledger.records import _json_value
from moai_deploy.ledger.store import Ledger, LedgerError

RUNNING = "running"


@dataclass(frozen=True)
class MeasurementRecord:
    """One judged measurement: metric, value, the condition it was judged by, why, when."""

    id: int
    run_id: int
    release_id: int
    metric: str
    phase: str
    value: float | None
    condition: str
    reason: str
    samples: int
    stable_samples: int
    dry_run: bool
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class AnalysisRunRecord:
    """One analysis run and how it ended (phase "running" while it has not)."""

    id: int
    release_id: int
    purpose: str
    metrics: list[str]
    started_at: datetime
    finished_at: datetime | None
    phase: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class NewMeasurement:
    """What `AnalysisLog.record` stores; `at` in seconds since the epoch."""

    metric: str
    phase: str
    value: float | None
    condition: str
    reason: str
    at: float
    samples: int = 0
    stable_samples: int = 0
    dry_run: bool = False


def _copy(cls: type[Any], row: object) -> Any:
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


class AnalysisLog:
    """Opens, fills and closes analysis runs."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def start_run(self, release_id: int, purpose: str, metrics: list[str]) -> int:
        """Open a run; returns its id."""
        row = AnalysisRunRow(
            release_id=release_id,
            purpose=purpose,
            metrics=list(metrics),
            started_at=utcnow(),
            phase=RUNNING,
            message="",
        )
        with self.ledger.write_session() as session:
            session.add(row)
            session.flush()
            return row.id

    def record(self, run_id: int, measurement: NewMeasurement) -> MeasurementRecord:
        """Append one measurement to a run."""
        with self.ledger.write_session() as session:
            run = session.get(AnalysisRunRow, run_id)
            if run is None:
                raise LedgerError(f"no analysis run with id {run_id}")
            values = {f.name: getattr(measurement, f.name) for f in fields(measurement)}
            values["at"] = datetime.fromtimestamp(measurement.at, UTC)
            row = MeasurementRow(run_id=run_id, release_id=run.release_id, **values)
            session.add(row)
            session.flush()
            result: MeasurementRecord = _copy(MeasurementRecord, row)
            return result

    def finish_run(self, run_id: int, phase: str, message: str) -> None:
        """Close a run with its phase and the message naming what decided it."""
        with self.ledger.write_session() as session:
            run = session.get(AnalysisRunRow, run_id, with_for_update=True)
            if run is None:
                raise LedgerError(f"no analysis run with id {run_id}")
            if run.finished_at is None:
                run.finished_at, run.phase, run.message = utcnow(), phase, message

    def runs(self, release_id: int) -> list[AnalysisRunRecord]:
        """A release's runs, oldest first."""
        query = select(AnalysisRunRow).where(AnalysisRunRow.release_id == release_id)
        with self.ledger.read_session() as session:
            rows = session.scalars(query.order_by(AnalysisRunRow.id))
            return [_copy(AnalysisRunRecord, r) for r in rows]

    def measurements(self, release_id: int, run_id: int | None = None) -> list[MeasurementRecord]:
        """A release's measurements (of one run when given), oldest first."""
        query = select(MeasurementRow).where(MeasurementRow.release_id == release_id)
        if run_id is not None:
            query = query.where(MeasurementRow.run_id == run_id)
        with self.ledger.read_session() as session:
            rows = session.scalars(query.order_by(MeasurementRow.id))
            return [_copy(MeasurementRecord, r) for r in rows]
