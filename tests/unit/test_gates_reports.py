"""Reports of one gate run: JSON, JUnit XML, SARIF (security gates only) and Markdown."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

from rich.console import Console

from moai_deploy.gates.model import Finding, GateOutcome, GateResult, GateRun, GateStatus
from moai_deploy.gates.reports import write_reports
from moai_deploy.gates.reports.console import print_run


def _run() -> GateRun:
    lint = GateResult("ruff", GateStatus.FAILED, (Finding("src/a.py", 3, "F401", "unused"),))
    key = Finding("src/keys.py", 4, "AWS Access Key", "possible secret")
    secrets = GateResult("secrets", GateStatus.FAILED, (key,), tool_version="1.5.0")
    audit = GateResult("pip_audit", GateStatus.ERROR, note="vulnerability service unreachable")
    docker = GateResult("hadolint", GateStatus.SKIPPED, note="no Dockerfile")
    outcomes = [
        GateOutcome(lint, False, "fail"),
        GateOutcome(secrets, True, "fail"),
        GateOutcome(audit, True, "warn"),
        GateOutcome(docker, True, "fail"),
    ]
    return GateRun("/srv/shop", "staging", datetime(2026, 1, 2, tzinfo=UTC), outcomes, 2.5)


def test_every_format_is_written_and_says_the_same(tmp_path: Path) -> None:
    run = _run()
    paths = write_reports(run, tmp_path / "reports")
    data = json.loads(paths["json"].read_text())
    assert data["passed"] is False and data["blocking"] == ["secrets"]
    assert [g["status"] for g in data["gates"]] == ["failed", "failed", "error", "skipped"]
    assert data["gates"][0]["findings"][0]["line"] == 3

    suite = ElementTree.parse(paths["junit"]).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "2", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    failure = cases["secrets"].find("failure")
    assert failure is not None and "src/keys.py:4: AWS Access Key" in (failure.text or "")
    assert cases["hadolint"].find("skipped") is not None

    sarif = json.loads(paths["sarif"].read_text())
    assert sarif["version"] == "2.1.0"
    assert [r["tool"]["driver"]["name"] for r in sarif["runs"]] == ["secrets", "pip_audit"]
    result = sarif["runs"][0]["results"][0]
    location = result["locations"][0]["physicalLocation"]
    assert (result["ruleId"], location["artifactLocation"]["uri"]) == (
        "AWS Access Key",
        "src/keys.py",
    )
    assert location["region"]["startLine"] == 4
    assert sarif["runs"][1]["invocations"][0]["executionSuccessful"] is False

    summary = paths["markdown"].read_text()
    assert summary.startswith("# Quality gates for `staging`: blocked by secrets")
    assert "`src/a.py:3` **F401** unused" in summary


def test_console_names_the_blocking_gate_and_the_findings() -> None:
    out = Console(record=True, width=140)
    print_run(_run(), out)
    text = out.export_text()
    assert "blocked by required gate(s): secrets" in text
    assert "src/keys.py:4: AWS Access Key: possible secret" in text
    assert "advisory" in text and "on_error warn" in text
