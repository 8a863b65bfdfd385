"""SARIF 2.1.0 for the security gates (bandit, secrets, pip-audit): one run per tool."""

from __future__ import annotations

from typing import Any

from moai_deploy.gates.model import Finding, GateRun, Severity
from moai_deploy.gates.registry import BUILTIN_GATES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def sarif(run: GateRun) -> dict[str, Any]:
    """The security gates' findings as a SARIF log (paths relative to the project)."""
    runs = []
    for outcome in run.outcomes:
        result = outcome.result
        gate = BUILTIN_GATES.get(result.gate)
        if gate is None or not gate.security:
            continue
        rules = sorted({f.rule for f in result.findings})
        runs.append(
            {
                "tool": {
                    "driver": {
                        "name": result.gate,
                        "version": result.tool_version or "unknown",
                        "rules": [{"id": rule} for rule in rules],
                    }
                },
                "originalUriBaseIds": {"PROJECT": {"uri": _dir_uri(run.project_dir)}},
                "invocations": [{"executionSuccessful": result.status != "error"}],
                "results": [_result(f, rules) for f in result.findings],
            }
        )
    return {"version": "2.1.0", "$schema": SARIF_SCHEMA, "runs": runs}


def _dir_uri(path: str) -> str:
    return "file://" + path.rstrip("/") + "/"


def _result(finding: Finding, rules: list[str]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rules.index(finding.rule),
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
    }
    if finding.file is not None:
        location: dict[str, Any] = {"uri": finding.file, "uriBaseId": "PROJECT"}
        physical: dict[str, Any] = {"artifactLocation": location}
        if finding.line:
            physical["region"] = {"startLine": finding.line}
            if finding.column:
                physical["region"]["startColumn"] = finding.column
        item["locations"] = [{"physicalLocation": physical}]
    return item
