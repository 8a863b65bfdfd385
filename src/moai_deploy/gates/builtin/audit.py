"""Known vulnerabilities in the dependencies (pip-audit).

pip-audit reports a package it could not look up as "skipped" and still exits 0 with
"No known vulnerabilities found". A gate that passed on that would claim a safety nobody
checked, so any dependency left unaudited makes the result `error`, never `passed`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

from moai_deploy.gates.base import BaseGate, GateContext
from moai_deploy.gates.model import Finding, GateResult
from moai_deploy.gates.tools import ToolOutput, run_tool
from moai_deploy.spec.gates import PipAuditGateSettings

# name[extras]==version, then an optional environment marker and --hash options.
_PINNED = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?==[^\s;]+(\s*;[^-]*)?(\s+--hash=\S+)*$"
)
_UNREACHABLE_HINTS = ("ConnectionError", "NameResolutionError", "Max retries", "timed out")


class PipAuditGate(BaseGate):
    name: ClassVar[str] = "pip_audit"
    description: ClassVar[str] = "dependency vulnerabilities (pip-audit)"
    inputs: ClassVar[tuple[str, ...]] = (
        "requirements*.txt",
        "pyproject.toml",
        "setup.cfg",
        "setup.py",
        "uv.lock",
        "poetry.lock",
    )
    tool: ClassVar[str | None] = "pip-audit"
    network: ClassVar[bool] = True
    security: ClassVar[bool] = True

    def skip_reason(self, project_dir: Path, files: tuple[str, ...]) -> str | None:
        if {"requirements.txt", "pyproject.toml", "setup.py", "setup.cfg"} & set(files):
            return None
        return "no requirements.txt or pyproject.toml: no declared dependencies to audit"

    def run(self, ctx: GateContext) -> GateResult:
        opts = ctx.options(PipAuditGateSettings)
        report = ctx.work_dir / "pip-audit.json"
        args = ["--format", "json", "--progress-spinner", "off", "-s", opts.service]
        args += ["-o", str(report), *opts.args, *_sources(ctx, opts)]
        out = run_tool(ctx.executable("pip-audit"), args, ctx.project_dir, opts.timeout)
        if not report.is_file() or not report.read_text().strip():
            return ctx.error(self.name, _why_not(out))
        data = json.loads(report.read_text())
        return _judge(ctx, data, report)


def _sources(ctx: GateContext, opts: PipAuditGateSettings) -> list[str]:
    files = opts.requirements or (
        ["requirements.txt"] if (ctx.project_dir / "requirements.txt").is_file() else []
    )
    if not files:
        return ["."]  # the project's pyproject.toml, resolved in a temporary environment
    args = [arg for name in files for arg in ("-r", name)]
    if all(_pinned(ctx.project_dir / name) for name in files):
        # A fully pinned list (a lock export) is audited as written: resolving it again in
        # a scratch environment costs tens of seconds and finds the same versions.
        args += ["--no-deps", "--disable-pip"]
    return args


def _pinned(path: Path) -> bool:
    """Every requirement in the file is `name==version` (markers and hashes allowed)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#") and not _PINNED.match(line):
            return False
    return True


def _why_not(out: ToolOutput) -> str:
    text = out.stderr + out.stdout
    if any(hint in text for hint in _UNREACHABLE_HINTS):
        return "vulnerability service unreachable: " + out.tail(1)
    return f"pip-audit exited {out.returncode}: {out.tail()}"


def _judge(ctx: GateContext, data: dict[str, Any], report: Path) -> GateResult:
    deps: list[dict[str, Any]] = data.get("dependencies", [])
    findings = [
        Finding(
            file=None,
            line=None,
            rule=str(vuln.get("id", "vulnerability")),
            message=f"{dep['name']} {dep.get('version', '')}: {_summary(vuln)}",
        )
        for dep in deps
        for vuln in dep.get("vulns", [])
    ]
    unaudited = [
        d for d in deps if "skip_reason" in d and "could not be audited" in d["skip_reason"]
    ]
    note = "" if deps else "no dependencies to audit"
    if unaudited:
        note = (
            f"vulnerability service gave no answer for {len(unaudited)} of {len(deps)} "
            f"dependencies (pip-audit: {unaudited[0]['skip_reason']})"
        )
    result = ctx.result("pip_audit", findings, report=report, note=note)
    if unaudited and not findings:
        return ctx.error("pip_audit", note, report)
    return result


def _summary(vuln: dict[str, Any]) -> str:
    fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
    description = str(vuln.get("description", "")).splitlines()
    return f"{vuln.get('id')} (fixed in {fixes}) {description[0][:200] if description else ''}"
