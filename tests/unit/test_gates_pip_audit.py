"""pip-audit's JSON judged: an unaudited dependency is `error`, never `passed`.

The JSON shapes are what pip-audit 2.x writes; the first is what it wrote in this sandbox,
where PyPI's JSON API answers 404 ("could not be audited") yet pip-audit exits 0.
"""

from __future__ import annotations

from pathlib import Path

from moai_deploy.gates.base import GateContext
from moai_deploy.gates.builtin.audit import _judge
from moai_deploy.gates.model import GateStatus
from moai_deploy.spec.gates import PipAuditGateSettings

UNAUDITED = {
    "dependencies": [
        {"name": "idna", "version": "3.7", "vulns": []},
        {
            "name": "fastapi",
            "skip_reason": "Dependency not found on PyPI and could not be audited: "
            "fastapi (0.115.0)",
        },
    ],
    "fixes": [],
}
VULNERABLE = {
    "dependencies": [
        {
            "name": "requests",
            "version": "2.19.0",
            "vulns": [
                {
                    "id": "PYSEC-2018-28",
                    "fix_versions": ["2.20.0"],
                    "aliases": ["CVE-2018-18074"],
                    "description": "Requests sends an HTTP Authorization header to an "
                    "http URI upon receiving a same-hostname https-to-http redirect.",
                }
            ],
        }
    ],
    "fixes": [],
}


def _ctx(tmp_path: Path) -> GateContext:
    return GateContext(tmp_path, PipAuditGateSettings(), (), tmp_path)


def test_unaudited_dependency_is_an_error_not_a_pass(tmp_path: Path) -> None:
    result = _judge(_ctx(tmp_path), UNAUDITED, tmp_path / "r.json")
    assert result.status == GateStatus.ERROR
    assert "no answer for 1 of 2 dependencies" in result.note


def test_known_vulnerability_fails_with_its_id_and_fix(tmp_path: Path) -> None:
    result = _judge(_ctx(tmp_path), VULNERABLE, tmp_path / "r.json")
    assert result.status == GateStatus.FAILED
    (finding,) = result.findings
    assert finding.rule == "PYSEC-2018-28"
    assert finding.message.startswith("requests 2.19.0: PYSEC-2018-28 (fixed in 2.20.0)")


def test_all_audited_and_clean_passes(tmp_path: Path) -> None:
    clean = {"dependencies": [{"name": "idna", "version": "3.7", "vulns": []}]}
    assert _judge(_ctx(tmp_path), clean, tmp_path / "r.json").status == GateStatus.PASSED
