"""The `gates:` spec section: zero-config defaults, required gates per environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from moai_deploy.errors import BadInputError, SpecError
from moai_deploy.gates.model import GateOutcome, GateResult, GateStatus
from moai_deploy.gates.runner import RunOptions, choose, on_error
from moai_deploy.spec.gates import GATE_NAMES, GatesSpec
from moai_deploy.spec.loader import parse_spec

BASE = """
service: {name: shop, command: python -m shop}
environments: {development: {port: 8080}, staging: {port: 8081}, production: {port: 8082}}
"""


def test_zero_config_requires_every_gate_in_staging_and_production_only() -> None:
    gates = GatesSpec()
    assert gates.required_in("staging") == frozenset(GATE_NAMES)
    assert gates.required_in("production") == frozenset(GATE_NAMES)
    assert gates.required_in("development") == frozenset()
    assert gates.pytest.min_coverage == 85
    assert (gates.trust.max_file_lines, gates.trust.max_function_lines) == (300, 50)
    assert (gates.trust.max_parameters, gates.trust.max_complexity) == (5, 10)


def test_spec_file_sets_thresholds_and_required_lists() -> None:
    text = (
        BASE
        + """
gates:
  required: {staging: [ruff, mypy], production: [all]}
  pytest: {min_coverage: 90, args: [-m, not slow]}
  trust: {max_complexity: 8}
  pip_audit: {on_error: fail}
  hadolint: {enabled: false}
"""
    )
    gates = parse_spec(text, Path("moai-deploy.yaml")).spec.gates
    assert gates.required_in("staging") == {"ruff", "mypy"}
    assert "hadolint" not in gates.required_in("production")  # `all` = every enabled gate
    assert gates.pytest.min_coverage == 90 and gates.pytest.args == ["-m", "not slow"]
    assert gates.trust.max_complexity == 8
    assert on_error(gates, "pip_audit") == "fail"


def test_on_error_defaults_to_warn_only_for_network_gates() -> None:
    gates = GatesSpec()
    assert on_error(gates, "pip_audit") == "warn"
    assert {on_error(gates, n) for n in GATE_NAMES if n != "pip_audit"} == {"fail"}


def test_typos_and_bad_values_name_the_line() -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(BASE + "gates:\n  trust: {max_complexty: 3}\n", Path("moai-deploy.yaml"))
    assert "moai-deploy.yaml:5: gates.trust.max_complexty" in str(err.value)
    with pytest.raises(SpecError, match="required"):
        parse_spec(BASE + "gates:\n  required: {staging: [lint]}\n", Path("moai-deploy.yaml"))


def test_a_required_gate_cannot_be_disabled() -> None:
    with pytest.raises(ValidationError, match="'mypy' is required in 'staging' but disabled"):
        GatesSpec.model_validate({"required": {"staging": ["mypy"]}, "mypy": {"enabled": False}})


def test_choose_accepts_dashed_names_and_refuses_unknown_ones() -> None:
    gates = GatesSpec.model_validate({"hadolint": {"enabled": False}})
    assert choose(gates, RunOptions(only=("ruff-format", "pip-audit"))) == [
        "ruff_format",
        "pip_audit",
    ]
    assert "hadolint" not in choose(gates, RunOptions())
    assert choose(gates, RunOptions(environment="development", required_only=True)) == []
    with pytest.raises(BadInputError, match="unknown gate"):
        choose(gates, RunOptions(only=("flake8",)))


@pytest.mark.parametrize(
    ("status", "required", "policy", "blocks"),
    [
        ("failed", True, "fail", True),
        ("failed", False, "fail", False),  # advisory never blocks
        ("error", True, "fail", True),
        ("error", True, "warn", False),
        ("passed", True, "fail", False),
        ("skipped", True, "fail", False),
    ],
)
def test_blocking_follows_required_and_on_error(
    status: str, required: bool, policy: str, blocks: bool
) -> None:
    outcome = GateOutcome(GateResult("x", GateStatus(status)), required, policy)
    assert outcome.blocking is blocks


def test_every_provisioned_tool_can_be_pinned_in_the_spec() -> None:
    from typing import get_args

    from moai_deploy.gates.provision import PINNED
    from moai_deploy.spec.gates import ToolName

    assert set(get_args(ToolName)) == set(PINNED)
