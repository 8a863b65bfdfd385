"""Approvals of releases in the ledger: every decision kept, counted by the rule in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from moai_deploy.ledger.control_models import ApprovalRow
from moai_deploy.ledger.models import utcnow
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.ledger.store import Ledger


@dataclass(frozen=True)
class ApprovalRecord:
    id: int
    release_id: int
    approver: str
    decision: str
    reason: str
    at: datetime
    expires_at: datetime | None

    def valid(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "release_id": self.release_id,
            "approver": self.approver,
            "decision": self.decision,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


@dataclass(frozen=True)
class ApprovalTally:
    """Where a release stands against its approval rule."""

    required: int
    approvers: list[str]  # distinct, valid, not the deployer
    rejected_by: str | None
    reason: str | None

    @property
    def approved(self) -> bool:
        return self.rejected_by is None and len(self.approvers) >= self.required

    def to_dict(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "approvers": self.approvers,
            "approved": self.approved,
            "rejected_by": self.rejected_by,
            "reason": self.reason,
        }


def _record(row: ApprovalRow) -> ApprovalRecord:
    return ApprovalRecord(
        row.id, row.release_id, row.approver, row.decision, row.reason, row.at, row.expires_at
    )


class ApprovalStore:
    """Record decisions and tally them."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def record(
        self,
        release: ReleaseRecord,
        approver: str,
        decision: str,
        reason: str = "",
        expiry: float | None = None,
    ) -> ApprovalRecord:
        now = utcnow()
        row = ApprovalRow(
            release_id=release.id,
            service=release.service,
            environment=release.environment,
            approver=approver,
            decision=decision,
            reason=reason,
            at=now,
            expires_at=now + timedelta(seconds=expiry) if expiry is not None else None,
        )
        with self.ledger.write_session() as session:
            session.add(row)
            session.flush()
            return _record(row)

    def for_release(self, release_id: int) -> list[ApprovalRecord]:
        query = select(ApprovalRow).where(ApprovalRow.release_id == release_id)
        with self.ledger.read_session() as session:
            return [_record(r) for r in session.scalars(query.order_by(ApprovalRow.id))]

    def tally(self, release: ReleaseRecord, required: int) -> ApprovalTally:
        """Distinct approvers other than the deployer whose approval has not expired."""
        now = utcnow()
        approvers: list[str] = []
        for item in self.for_release(release.id):
            if item.decision == "reject":
                return ApprovalTally(required, approvers, item.approver, item.reason)
            if item.approver == release.deployed_by or not item.valid(now):
                continue
            if item.approver not in approvers:
                approvers.append(item.approver)
        return ApprovalTally(required, approvers, None, None)
