"""The built-in gates, in the order reports list them."""

from __future__ import annotations

from moai_deploy.gates.base import Gate
from moai_deploy.gates.builtin.audit import PipAuditGate
from moai_deploy.gates.builtin.lint import MypyGate, RuffFormatGate, RuffGate
from moai_deploy.gates.builtin.security import BanditGate, HadolintGate, SecretsGate
from moai_deploy.gates.builtin.tags import TagsGate
from moai_deploy.gates.builtin.tests import PytestGate
from moai_deploy.gates.builtin.trust import TrustGate
from moai_deploy.spec.gates import GATE_NAMES

BUILTIN_GATES: dict[str, Gate] = {
    gate.name: gate
    for gate in (
        RuffGate(),
        RuffFormatGate(),
        MypyGate(),
        PytestGate(),
        BanditGate(),
        PipAuditGate(),
        SecretsGate(),
        TrustGate(),
        TagsGate(),
        HadolintGate(),
    )
}
if tuple(BUILTIN_GATES) != GATE_NAMES:  # the spec's names and the plugins must agree
    raise RuntimeError(f"gate registry {tuple(BUILTIN_GATES)} != spec names {GATE_NAMES}")


def normalize_name(name: str) -> str:
    """`ruff-format` and `pip-audit` are accepted for `ruff_format` and `pip_audit`."""
    return name.strip().lower().replace("-", "_")
