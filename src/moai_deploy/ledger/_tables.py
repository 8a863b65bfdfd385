"""Imported by `ledger.store`: registers every table and the release-transition events."""

from moai_deploy.ledger import control_models as _control_models  # noqa: F401
from moai_deploy.ledger import events as _events  # noqa: F401
from moai_deploy.ledger import gate_models as _gate_models  # noqa: F401
from moai_deploy.ledger import journal_models as _journal  # noqa: F401
from moai_deploy.ledger import pipeline_models as _pipeline_models  # noqa: F401
