"""Pipeline runs and stages in the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from moai_deploy.ledger.models import utcnow
from moai_deploy.ledger.pipeline_models import PipelineRunRow, PipelineStageRow
from moai_deploy.ledger.records import _json_value
from moai_deploy.ledger.store import Ledger, LedgerError


@dataclass(frozen=True)
class StageRecord:
    id: int
    sequence: int
    kind: str
    name: str
    environment: str
    status: str
    release_id: int | None
    detail: str
    started_at: datetime
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {k: _json_value(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class PipelineRecord:
    id: int
    service: str
    version: str
    commit_sha: str | None
    status: str
    actor: str
    message: str | None
    started_at: datetime
    finished_at: datetime | None
    stages: list[StageRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = {k: _json_value(v) for k, v in self.__dict__.items() if k != "stages"}
        return {**data, "stages": [s.to_dict() for s in self.stages]}


def _stage(row: PipelineStageRow) -> StageRecord:
    return StageRecord(
        row.id, row.sequence, row.kind, row.name, row.environment, row.status,
        row.release_id, row.detail, row.started_at, row.finished_at,
    )  # fmt: skip


class PipelineStore:
    """Start, advance and read pipeline runs."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def start(self, service: str, version: str, commit_sha: str | None, actor: str) -> int:
        row = PipelineRunRow(
            service=service, version=version, commit_sha=commit_sha, status="running",
            actor=actor, started_at=utcnow(),
        )  # fmt: skip
        with self.ledger.write_session() as session:
            session.add(row)
            session.flush()
            return row.id

    def finish(self, run_id: int, status: str, message: str | None = None) -> None:
        with self.ledger.write_session() as session:
            row = session.get(PipelineRunRow, run_id, with_for_update=True)
            if row is None:
                raise LedgerError(f"no pipeline run {run_id}")
            row.status, row.message, row.finished_at = status, message, utcnow()

    def start_stage(self, run_id: int, kind: str, name: str, environment: str) -> int:
        with self.ledger.write_session() as session:
            count = len(
                session.scalars(
                    select(PipelineStageRow.id).where(PipelineStageRow.run_id == run_id)
                ).all()
            )
            row = PipelineStageRow(
                run_id=run_id, sequence=count + 1, kind=kind, name=name, environment=environment,
                status="running", detail="", started_at=utcnow(),
            )  # fmt: skip
            session.add(row)
            session.flush()
            return row.id

    def finish_stage(
        self, stage_id: int, status: str, detail: str, release_id: int | None = None
    ) -> None:
        with self.ledger.write_session() as session:
            row = session.get(PipelineStageRow, stage_id, with_for_update=True)
            if row is None:
                raise LedgerError(f"no pipeline stage {stage_id}")
            row.status, row.detail, row.finished_at = status, detail, utcnow()
            if release_id is not None:
                row.release_id = release_id

    def get(self, run_id: int) -> PipelineRecord | None:
        with self.ledger.read_session() as session:
            row = session.get(PipelineRunRow, run_id)
            if row is None:
                return None
            return self._record(session, row)

    def list(self, service: str, limit: int = 20) -> list[PipelineRecord]:
        query = (
            select(PipelineRunRow)
            .where(PipelineRunRow.service == service)
            .order_by(PipelineRunRow.id.desc())
            .limit(limit)
        )
        with self.ledger.read_session() as session:
            return [self._record(session, row) for row in session.scalars(query)]

    def _record(self, session: Any, row: PipelineRunRow) -> PipelineRecord:
        stages = session.scalars(
            select(PipelineStageRow)
            .where(PipelineStageRow.run_id == row.id)
            .order_by(PipelineStageRow.sequence)
        )
        return PipelineRecord(
            row.id, row.service, row.version, row.commit_sha, row.status, row.actor,
            row.message, row.started_at, row.finished_at, [_stage(s) for s in stages],
        )  # fmt: skip
