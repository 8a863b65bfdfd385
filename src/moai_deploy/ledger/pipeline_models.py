"""ORM models of pipeline runs (`moai-deploy ship`) and their stages.

Importing this module registers the tables on the ledger's `Base`; only `pipelines.py`
touches them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from moai_deploy.ledger.models import Base, UTCDateTime


class PipelineRunRow(Base):
    __tablename__ = "pipeline_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String)
    version: Mapped[str] = mapped_column(String)
    commit_sha: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)  # running, succeeded, failed
    actor: Mapped[str] = mapped_column(String)
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PipelineStageRow(Base):
    __tablename__ = "pipeline_stages"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("pipeline_runs.id"), index=True)
    sequence: Mapped[int]
    kind: Mapped[str] = mapped_column(String)  # deploy, test, rollback
    name: Mapped[str] = mapped_column(String)
    environment: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)  # running, succeeded, failed
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"))
    detail: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
