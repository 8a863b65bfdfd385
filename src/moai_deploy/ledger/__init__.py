"""Release ledger: releases, their steps, the audit trail and the rollout journal (control
requests, events, analysis runs and measurements) on SQLite or PostgreSQL.

The names below load on first use (PEP 562), so a light reader (`ledger.light`, used by
`moai-deploy status`) can use the records without importing SQLAlchemy. Importing
`ledger.store` registers every table and the release-transition events.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOME = {
    "AuditRecord": "records",
    "ReleaseRecord": "records",
    "StepRecord": "records",
    "ReleaseStatus": "models",
    "StepOutcome": "models",
    "Ledger": "store",
    "LedgerError": "store",
    "ledger_url": "store",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if module == "models":
        importlib.import_module(f"{__name__}.store")  # the models are used with their tables
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
