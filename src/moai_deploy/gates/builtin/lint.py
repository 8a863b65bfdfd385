"""Lint, format and type gates: ruff check, ruff format --check, mypy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

from moai_deploy.gates.base import PY_CONFIG, BaseGate, GateContext
from moai_deploy.gates.model import Finding, GateResult, Severity
from moai_deploy.gates.tools import run_tool

_RUFF_INPUTS = ("*.py", "*.pyi", "*.ipynb", "ruff.toml", ".ruff.toml", *PY_CONFIG)
# A unified diff header and the first hunk of a file: where the drift starts.
_DIFF_FILE = re.compile(r"^\+\+\+ (?:b/)?(?P<file>\S+)")
_DIFF_HUNK = re.compile(r"^@@ -(?P<line>\d+)")
_MYPY_LINE = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<sev>error|warning|note): "
    r"(?P<msg>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)


# A project that never configured ruff is linted for what is wrong, not for style: syntax
# errors, undefined names, unused imports (ruff's long-standing defaults). Its own
# configuration, when it has one, decides instead.
UNCONFIGURED_RULES = "E4,E7,E9,F"


def ruff_configured(project_dir: Path) -> bool:
    """Whether ruff finds a configuration for the project (it looks in the parents too)."""
    for folder in (project_dir.resolve(), *project_dir.resolve().parents):
        if (folder / "ruff.toml").is_file() or (folder / ".ruff.toml").is_file():
            return True
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.ruff" in pyproject.read_text(errors="replace"):
            return True
    return False


class RuffGate(BaseGate):
    name: ClassVar[str] = "ruff"
    description: ClassVar[str] = "lint (ruff check)"
    inputs: ClassVar[tuple[str, ...]] = _RUFF_INPUTS
    tool: ClassVar[str | None] = "ruff"

    def run(self, ctx: GateContext) -> GateResult:
        paths = ctx.target_paths(["."])
        select = [] if ruff_configured(ctx.project_dir) else ["--select", UNCONFIGURED_RULES]
        args = ["check", "--output-format", "json", "--no-fix", *select, *ctx.settings.args]
        out = run_tool(ctx.executable("ruff"), [*args, *paths], ctx.project_dir,
                       ctx.settings.timeout)  # fmt: skip
        report = ctx.work_dir / "ruff.json"
        report.write_text(out.stdout)
        if out.returncode not in (0, 1):
            return ctx.error(self.name, f"ruff exited {out.returncode}: {out.tail()}", report)
        items: list[dict[str, Any]] = json.loads(out.stdout or "[]")
        findings = [
            Finding(
                file=ctx.relative(item["filename"]),
                line=(item.get("location") or {}).get("row"),
                column=(item.get("location") or {}).get("column"),
                rule=item.get("code") or "syntax",
                message=item["message"],
            )
            for item in items
        ]
        return ctx.result(self.name, findings, report=report)


class RuffFormatGate(BaseGate):
    name: ClassVar[str] = "ruff_format"
    description: ClassVar[str] = "formatting (ruff format --check)"
    inputs: ClassVar[tuple[str, ...]] = _RUFF_INPUTS
    tool: ClassVar[str | None] = "ruff"

    def run(self, ctx: GateContext) -> GateResult:
        paths = ctx.target_paths(["."])
        args = ["format", "--check", "--diff", *ctx.settings.args, *paths]
        out = run_tool(ctx.executable("ruff"), args, ctx.project_dir, ctx.settings.timeout)
        report = ctx.work_dir / "ruff-format.diff"
        report.write_text(out.stdout)
        if out.returncode not in (0, 1):
            return ctx.error(
                self.name, f"ruff format exited {out.returncode}: {out.tail()}", report
            )
        return ctx.result(self.name, _drift(ctx, out.stdout), report=report)


def _drift(ctx: GateContext, diff: str) -> list[Finding]:
    """One finding per file that would be reformatted, at its first changed line."""
    message = "would be reformatted (ruff format); see the diff in the raw report"
    findings: list[Finding] = []
    current: str | None = None
    line_no = 0
    for line in diff.splitlines():
        if header := _DIFF_FILE.match(line):
            current = ctx.relative(header.group("file"))
        elif hunk := _DIFF_HUNK.match(line):
            line_no = int(hunk.group("line"))
        elif current is not None and line.startswith(" "):
            line_no += 1  # context before the first change
        elif current is not None and line[:1] in ("-", "+"):
            findings.append(Finding(current, line_no, "format", message))
            current = None  # one finding per file
    return findings


class MypyGate(BaseGate):
    name: ClassVar[str] = "mypy"
    description: ClassVar[str] = "type check (mypy)"
    inputs: ClassVar[tuple[str, ...]] = ("*.py", "*.pyi", "mypy.ini", ".mypy.ini", *PY_CONFIG)
    tool: ClassVar[str | None] = "mypy"
    project_env: ClassVar[bool] = True

    def run(self, ctx: GateContext) -> GateResult:
        flags = ["--show-column-numbers", "--show-error-codes", "--no-pretty"]
        flags += ["--no-color-output", "--no-error-summary"]
        if ctx.python is not None:  # imports resolve in the project's own environment
            flags += ["--python-executable", str(ctx.python)]
        args = [*flags, *ctx.settings.args, *ctx.target_paths()]
        out = run_tool(ctx.executable("mypy"), args, ctx.project_dir, ctx.settings.timeout)
        report = ctx.work_dir / "mypy.txt"
        report.write_text(out.stdout + out.stderr)
        findings = [f for f in map(_mypy_finding, out.stdout.splitlines()) if f is not None]
        if out.returncode not in (0, 1) or (out.returncode == 1 and not findings):
            return ctx.error(self.name, f"mypy exited {out.returncode}: {out.tail()}", report)
        return ctx.result(self.name, [_relative(ctx, f) for f in findings], report=report)


def _mypy_finding(line: str) -> Finding | None:
    match = _MYPY_LINE.match(line)
    if match is None or match.group("sev") == "note":
        return None
    severity = Severity.ERROR if match.group("sev") == "error" else Severity.WARNING
    col = match.group("col")
    return Finding(
        file=match.group("file"),
        line=int(match.group("line")),
        column=int(col) if col else None,
        rule=match.group("code") or "mypy",
        message=match.group("msg"),
        severity=severity,
    )


def _relative(ctx: GateContext, finding: Finding) -> Finding:
    return Finding(
        ctx.relative(finding.file or ""),
        finding.line,
        finding.rule,
        finding.message,
        finding.severity,
        finding.column,
    )
