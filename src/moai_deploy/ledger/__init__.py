"""Release ledger: releases, their steps and the audit trail (SQLite or PostgreSQL)."""

from moai_deploy.ledger import gate_models as _gate_models  # noqa: F401 - registers tables
from moai_deploy.ledger.models import ReleaseStatus, StepOutcome
from moai_deploy.ledger.records import AuditRecord, ReleaseRecord, StepRecord
from moai_deploy.ledger.store import Ledger, LedgerError, ledger_url

__all__ = [
    "AuditRecord",
    "Ledger",
    "LedgerError",
    "ReleaseRecord",
    "ReleaseStatus",
    "StepOutcome",
    "StepRecord",
    "ledger_url",
]
