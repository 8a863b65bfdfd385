"""The tests gate: pytest with coverage (pytest-cov); JUnit XML and coverage JSON parsed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import ClassVar

# The JUnit file is written by the pytest run we just started, not by an outsider, so the
# standard parser's entity expansion is no risk here.
from xml.etree import ElementTree  # nosec B405
from xml.etree.ElementTree import Element  # nosec B405

from moai_deploy.gates.base import PY_CONFIG, BaseGate, GateContext
from moai_deploy.gates.model import Finding, GateResult, Severity
from moai_deploy.gates.tools import run_tool
from moai_deploy.spec.gates import PytestGateSettings

# `path/to/test_x.py:12: AssertionError` lines of a failure's traceback.
_TRACE_LINE = re.compile(r"^(?P<file>[^\s:][^:\n]*\.py):(?P<line>\d+): ", re.M)
_NO_TESTS = 5  # pytest's exit code when nothing was collected


class PytestGate(BaseGate):
    name: ClassVar[str] = "pytest"
    description: ClassVar[str] = "tests with coverage (pytest, pytest-cov)"
    inputs: ClassVar[tuple[str, ...]] = ("*.py", "pytest.ini", ".coveragerc", *PY_CONFIG)
    tool: ClassVar[str | None] = "pytest"
    project_env: ClassVar[bool] = True

    def run(self, ctx: GateContext) -> GateResult:
        opts = ctx.options(PytestGateSettings)
        junit, cov = ctx.work_dir / "junit.xml", ctx.work_dir / "coverage.json"
        cov_args = [f"--cov={s}" for s in opts.coverage_source] or ["--cov"]
        args = ["-q", "-p", "no:cacheprovider", "-o", "junit_family=xunit1"]
        args += [f"--junitxml={junit}", *cov_args, f"--cov-report=json:{cov}", "--cov-report="]
        args += [*opts.args, *(opts.paths or [])]
        # The data file goes with the raw reports, not over the developer's own .coverage.
        data_file = {"COVERAGE_FILE": str(ctx.work_dir / ".coverage")}
        # `python -m pytest` in the project's environment: the project folder is on
        # sys.path, as when its developers run the tests.
        python = ctx.python
        if python is None:
            out = run_tool(ctx.executable("pytest"), args, ctx.project_dir, opts.timeout, data_file)
        else:
            out = run_tool(
                python, ["-m", "pytest", *args], ctx.project_dir, opts.timeout, data_file
            )
        (ctx.work_dir / "pytest.log").write_text(out.stdout + out.stderr)
        if "unrecognized arguments: --cov" in out.stderr:
            return ctx.error(self.name, "pytest-cov is not installed (pip install pytest-cov)")
        if out.returncode == _NO_TESTS:
            return ctx.result(
                self.name, [Finding(None, None, "no-tests", "pytest collected no tests")]
            )
        if out.returncode not in (0, 1) or not junit.is_file():
            return ctx.error(self.name, f"pytest exited {out.returncode}: {out.tail()}", junit)
        findings = _failures(ctx, junit)
        coverage, cov_findings = _coverage(ctx, cov, opts.min_coverage)
        note = f"{coverage:.1f}% covered (minimum {opts.min_coverage:g}%)"
        return ctx.result(self.name, findings + cov_findings, report=junit, note=note)


def _failures(ctx: GateContext, junit: Path) -> list[Finding]:
    """Each failed or erroring test, at the line in its test file where it failed."""
    root = ElementTree.parse(junit).getroot()  # noqa: S314  # nosec B314
    findings: list[Finding] = []
    for case in root.iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None:
            continue
        findings.append(_failure(ctx, case, problem))
    return findings


def _failure(ctx: GateContext, case: Element, problem: Element) -> Finding:
    file = case.get("file") or None
    line = int(case.get("line", "0")) + 1 if case.get("line") else None  # xunit1 is 0-based
    for match in _TRACE_LINE.finditer(problem.text or ""):
        if file is None or ctx.relative(match.group("file")) == file:
            file, line = ctx.relative(match.group("file")), int(match.group("line"))
    name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
    message = (problem.get("message") or problem.tag).splitlines()[0][:300]
    return Finding(file, line, f"test-{problem.tag}", f"{name}: {message}")


def _coverage(ctx: GateContext, report: Path, minimum: float) -> tuple[float, list[Finding]]:
    """Total coverage; below the minimum, a finding per file under it (first missed line)."""
    if not report.is_file():
        return 0.0, [Finding(None, None, "coverage", "no coverage data was written")]
    data = json.loads(report.read_text())
    total = float(data["totals"]["percent_covered"])
    if total >= minimum:
        return total, []
    findings = [
        Finding(None, None, "coverage", f"total coverage {total:.1f}% is below {minimum:g}%")
    ]
    for name, info in sorted(data.get("files", {}).items()):
        percent = float(info["summary"]["percent_covered"])
        if percent < minimum:
            missing = info.get("missing_lines") or [None]
            message = f"{percent:.1f}% covered (minimum {minimum:g}%)"
            findings.append(
                Finding(ctx.relative(name), missing[0], "coverage", message, Severity.ERROR)
            )
    return total, findings
