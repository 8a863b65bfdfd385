"""Immutable records the ledger hands out (never ORM objects)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, NotRequired, Required, TypedDict

if TYPE_CHECKING:  # the ORM stays unloaded for light readers (ledger.light)
    from moai_deploy.ledger.models import AuditEvent, Release, ReleaseStep


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else copy.deepcopy(value)


class _Record:
    """Shared `to_dict` for the record dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict; timestamps as ISO 8601 strings with offset."""
        return {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class ReleaseRecord(_Record):
    id: int
    service: str
    environment: str
    version: str
    commit_sha: str | None
    spec_hash: str
    artifact: str | None
    strategy: str
    status: str
    message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    deployed_by: str
    rollback_of: int | None
    meta: dict[str, Any]

    @classmethod
    def from_row(cls, row: Release) -> ReleaseRecord:
        return cls(**_columns(cls, row))


@dataclass(frozen=True)
class StepRecord(_Record):
    id: int
    release_id: int
    sequence: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    detail: str

    @classmethod
    def from_row(cls, row: ReleaseStep) -> StepRecord:
        return cls(**_columns(cls, row))


@dataclass(frozen=True)
class AuditRecord(_Record):
    id: int
    at: datetime
    actor: str
    action: str
    service: str | None
    environment: str | None
    target: str
    outcome: str
    detail: dict[str, Any]

    @classmethod
    def from_row(cls, row: AuditEvent) -> AuditRecord:
        return cls(**_columns(cls, row))


def _columns(cls: type[_Record], row: object) -> dict[str, Any]:
    # Deep copies so a caller mutating `meta`/`detail` cannot alias ORM state.
    return {f.name: copy.deepcopy(getattr(row, f.name)) for f in fields(cls)}  # type: ignore[arg-type]


class NewRelease(TypedDict):
    """Keyword arguments of `Ledger.create_release`."""

    service: Required[str]
    environment: Required[str]
    version: Required[str]
    commit_sha: Required[str | None]
    spec_hash: Required[str]
    artifact: Required[str | None]
    strategy: Required[str]
    deployed_by: Required[str]
    rollback_of: NotRequired[int | None]
    meta: NotRequired[dict[str, Any] | None]


class NewAuditEvent(TypedDict):
    """Keyword arguments of `Ledger.record_audit`."""

    actor: Required[str]
    action: Required[str]
    target: Required[str]
    outcome: Required[str]
    service: NotRequired[str | None]
    environment: NotRequired[str | None]
    detail: NotRequired[dict[str, Any] | None]
