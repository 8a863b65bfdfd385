"""Quality gates: lint, format, types, tests + coverage, security, TRUST 5, TAG chain.

Each gate is a plugin (`gates.base.Gate`) returning one result shape; `run_gates` runs
them in parallel from a cache keyed by their inputs; `gates.release.check_release_gates`
is what a deploy calls first.
"""

from moai_deploy.gates.base import Gate, GateContext
from moai_deploy.gates.model import Finding, GateOutcome, GateResult, GateRun, GateStatus, Severity
from moai_deploy.gates.runner import RunOptions, run_gates

__all__ = [
    "Finding",
    "Gate",
    "GateContext",
    "GateOutcome",
    "GateResult",
    "GateRun",
    "GateStatus",
    "RunOptions",
    "Severity",
    "run_gates",
]
