"""The TAG chain gate: MoAI-ADK's TAG rules through `moai_deploy.trace.scan`, with the
`gates.tags` options (one per documented difference); its note names the mode that ran."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from moai_deploy.gates.base import BaseGate, GateContext
from moai_deploy.gates.model import Finding, GateResult, GateStatus, Severity
from moai_deploy.spec.gates import TagsGateSettings

SPECS_DIR = ".moai/specs"


class TagsGate(BaseGate):
    name: ClassVar[str] = "tags"
    description: ClassVar[str] = "SPEC/TAG chain (moai-deploy trace)"
    inputs: ClassVar[tuple[str, ...]] = ("*",)  # TAGs live in code, tests, docs and config

    def skip_reason(self, project_dir: Path, files: tuple[str, ...]) -> str | None:
        if (project_dir / SPECS_DIR).is_dir():
            return None
        return f"no {SPECS_DIR} folder: the project has no SPECs to trace"

    def run(self, ctx: GateContext) -> GateResult:
        # Imported here so the other gates work while the trace package is unavailable.
        from moai_deploy.trace import TraceOptions, scan

        opts = ctx.options(TagsGateSettings)
        options = TraceOptions.from_settings(opts)
        report = scan(ctx.project_dir, strict=opts.strict, options=options)
        if not report.has_specs:
            note = f"no SPEC documents under {SPECS_DIR} (mode {report.mode})"
            return GateResult(self.name, GateStatus.SKIPPED, note=note)
        raw = ctx.work_dir / "trace.json"
        raw.write_text(json.dumps(report.to_dict(), indent=2, default=str))
        findings = [
            Finding(
                file=f.file.as_posix() if f.file is not None else None,
                line=f.line,
                rule=f.rule,
                message=f.message,
                severity=Severity(f.severity),
            )
            for f in report.findings
        ]
        note = f"{len(report.specs)} SPEC(s) traced, mode {report.mode}"
        return ctx.result(self.name, findings, report=raw, note=note)
