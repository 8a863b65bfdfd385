"""Release ledger: releases, their steps, the audit trail and the rollout journal (control
requests, events, analysis runs and measurements) on SQLite or PostgreSQL."""

from moai_deploy.ledger import control_models as _control_models  # noqa: F401 - registers tables
from moai_deploy.ledger import events as _events  # noqa: F401 - release transitions
from moai_deploy.ledger import gate_models as _gate_models  # noqa: F401 - registers tables
from moai_deploy.ledger import journal_models as _journal  # noqa: F401 - registers tables
from moai_deploy.ledger import pipeline_models as _pipeline_models  # noqa: F401 - registers tables
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
