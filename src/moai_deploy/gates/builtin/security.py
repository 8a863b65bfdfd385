"""Security gates: bandit (code), detect-secrets (hard-coded secrets), hadolint (Dockerfile)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, ClassVar

from moai_deploy.gates.base import BaseGate, GateContext
from moai_deploy.gates.inputs import MAX_FILE_BYTES, select
from moai_deploy.gates.model import Finding, GateResult, Severity
from moai_deploy.gates.tools import run_tool
from moai_deploy.spec.gates import BanditGateSettings, SecretsGateSettings

# bandit's -x matches substrings of paths: folders that are not the project's own code.
_BANDIT_EXCLUDED = ("tests", "test", ".venv", "venv", ".git", ".moai-deploy", "node_modules")
_HADOLINT_LEVEL = {"error": Severity.ERROR, "warning": Severity.ERROR, "info": Severity.WARNING}
_REFERENCE = re.compile(r"\$\{secret:[A-Za-z_][A-Za-z0-9_]*\}")
DOCKERFILES = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "Containerfile")


class BanditGate(BaseGate):
    name: ClassVar[str] = "bandit"
    description: ClassVar[str] = "security lint (bandit)"
    tool: ClassVar[str | None] = "bandit"
    security: ClassVar[bool] = True

    def run(self, ctx: GateContext) -> GateResult:
        opts = ctx.options(BanditGateSettings)
        report = ctx.work_dir / "bandit.json"
        excluded = ",".join(f"/{name}/" for name in _BANDIT_EXCLUDED)
        args = ["-r", "-q", "-f", "json", "-o", str(report), "-x", excluded]
        args += ["--severity-level", opts.min_severity]
        args += ["--confidence-level", opts.min_confidence]
        if _has_section(ctx, "tool.bandit"):
            args += ["-c", "pyproject.toml"]
        argv = [*args, *opts.args, *ctx.target_paths()]
        out = run_tool(ctx.executable("bandit"), argv, ctx.project_dir, opts.timeout)
        if out.returncode not in (0, 1) or not report.is_file():
            return ctx.error(self.name, f"bandit exited {out.returncode}: {out.tail()}")
        data = json.loads(report.read_text())
        # Every reported issue blocks: the thresholds above already chose what is reported.
        findings = [_bandit_finding(ctx, item) for item in data.get("results", [])]
        findings += [
            Finding(ctx.relative(e["filename"]), None, "bandit-error", e.get("reason", ""))
            for e in data.get("errors", [])
        ]
        return ctx.result(self.name, findings, report=report)


def _bandit_finding(ctx: GateContext, item: dict[str, Any]) -> Finding:
    severity = str(item.get("issue_severity", "LOW"))
    message = f"{item.get('issue_text', '')} (severity {severity.lower()}, "
    message += f"confidence {str(item.get('issue_confidence', '')).lower()})"
    return Finding(
        file=ctx.relative(item["filename"]),
        line=item.get("line_number"),
        column=item.get("col_offset"),
        rule=f"{item.get('test_id', '')} {item.get('test_name', '')}".strip(),
        message=message,
        severity=Severity.ERROR,
    )


def _has_section(ctx: GateContext, section: str) -> bool:
    pyproject = ctx.project_dir / "pyproject.toml"
    return pyproject.is_file() and f"[{section}]" in pyproject.read_text(errors="replace")


# Lines frameworks write that detect-secrets takes for secrets on every project that has
# them: Alembic's revision ids and its alembic.ini template URL, and HTML subresource
# integrity hashes (`<link integrity="sha384-...">` for a CDN's Bootstrap).
KNOWN_NOT_SECRETS = (
    r"^\s*(down_)?revision\b[^=]*=\s*['\"][0-9a-f]{12}['\"]",
    r"^(Revision ID|Revises): [0-9a-f]{12}",
    r"driver://user:pass@localhost/dbname",
    r"integrity=['\"]sha(256|384|512)-[A-Za-z0-9+/=]+['\"]",
)


class SecretsGate(BaseGate):
    name: ClassVar[str] = "secrets"
    description: ClassVar[str] = "hard-coded secrets (detect-secrets)"
    inputs: ClassVar[tuple[str, ...]] = ("*",)
    tool: ClassVar[str | None] = "detect-secrets"
    security: ClassVar[bool] = True

    def run(self, ctx: GateContext) -> GateResult:
        opts = ctx.options(SecretsGateSettings)
        files = [f for f in ctx.files if (ctx.project_dir / f).stat().st_size <= MAX_FILE_BYTES]
        files = [f for f in files if f != opts.baseline]
        report = ctx.work_dir / "detect-secrets.json"
        tool = ctx.executable("detect-secrets")
        known = [arg for line in KNOWN_NOT_SECRETS for arg in ("--exclude-lines", line)]
        args = ["scan", *known, *opts.args, *files]
        out = run_tool(tool, args, ctx.project_dir, opts.timeout)
        report.write_text(out.stdout)
        if out.returncode != 0:
            return ctx.error(self.name, f"detect-secrets exited {out.returncode}: {out.tail()}")
        accepted = _baseline(ctx, opts.baseline)
        findings = [
            Finding(
                file=ctx.relative(name),
                line=hit.get("line_number"),
                rule=str(hit.get("type", "secret")),
                message=f"possible secret ({hit.get('type')}); move it to the secrets file "
                "and reference it, or mark a false positive with `# pragma: allowlist secret`",
            )
            for name, hits in json.loads(out.stdout).get("results", {}).items()
            for hit in hits
            if (ctx.relative(name), hit.get("hashed_secret")) not in accepted
            and not _is_reference(ctx, name, hit)
        ]
        return ctx.result(self.name, findings, report=report)


def _is_reference(ctx: GateContext, name: str, hit: dict[str, Any]) -> bool:
    """A hit inside a `${secret:NAME}` reference: the spec's way to name a secret, not hold it.

    detect-secrets reports a hash of the matched text and, for YAML, an approximate line,
    so the hit is recognised by its hash: some part of a reference in the same file.
    """
    text = (ctx.project_dir / name).read_text(errors="replace")
    return hit.get("hashed_secret") in _reference_hashes(text)


def _reference_hashes(text: str) -> set[str]:
    hashes: set[str] = set()
    for match in _REFERENCE.finditer(text):
        ref = match.group(0)
        for start in range(len(ref)):
            for end in range(start + 1, len(ref) + 1):
                hashes.add(hashlib.sha1(ref[start:end].encode(), usedforsecurity=False).hexdigest())
    return hashes


def _baseline(ctx: GateContext, name: str) -> set[tuple[str, Any]]:
    """(file, hashed secret) pairs the project's baseline accepts."""
    path = ctx.project_dir / name
    if not path.is_file():
        return set()
    data = json.loads(path.read_text())
    return {
        (file, hit.get("hashed_secret"))
        for file, hits in data.get("results", {}).items()
        for hit in hits
    }


class HadolintGate(BaseGate):
    name: ClassVar[str] = "hadolint"
    description: ClassVar[str] = "Dockerfile lint (hadolint)"
    inputs: ClassVar[tuple[str, ...]] = (*DOCKERFILES, ".hadolint.yaml", ".hadolint.yml")
    tool: ClassVar[str | None] = "hadolint"
    security: ClassVar[bool] = False

    def skip_reason(self, project_dir: Path, files: tuple[str, ...]) -> str | None:
        return None if select(files, DOCKERFILES) else "no Dockerfile in the project"

    def run(self, ctx: GateContext) -> GateResult:
        dockerfiles = list(select(ctx.files, DOCKERFILES))
        report = ctx.work_dir / "hadolint.json"
        args = ["--format", "json", "--no-color", *ctx.settings.args, *dockerfiles]
        out = run_tool(ctx.executable("hadolint"), args, ctx.project_dir, ctx.settings.timeout)
        report.write_text(out.stdout)
        try:
            items: list[dict[str, Any]] = json.loads(out.stdout or "[]")
        except json.JSONDecodeError:
            return ctx.error(self.name, f"hadolint exited {out.returncode}: {out.tail()}")
        findings = [
            Finding(
                file=ctx.relative(item["file"]),
                line=item.get("line"),
                column=item.get("column"),
                rule=str(item.get("code", "hadolint")),
                message=str(item.get("message", "")),
                severity=_HADOLINT_LEVEL.get(str(item.get("level")), Severity.INFO),
            )
            for item in items
        ]
        return ctx.result(self.name, findings, report=report)
