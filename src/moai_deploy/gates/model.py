"""The one result shape every gate returns, and a run of several gates."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class GateStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # the gate could not run: it says nothing about the code
    SKIPPED = "skipped"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One problem a gate found; `file` is relative to the project (posix)."""

    file: str | None
    line: int | None
    rule: str
    message: str
    severity: Severity = Severity.ERROR
    column: int | None = None

    @property
    def where(self) -> str:
        """`file:line`, `file`, or `-` when the finding has no location."""
        if self.file is None:
            return "-"
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
            "severity": self.severity.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            file=data.get("file"),
            line=data.get("line"),
            rule=str(data["rule"]),
            message=str(data["message"]),
            severity=Severity(data.get("severity", "error")),
            column=data.get("column"),
        )


@dataclass(frozen=True)
class GateResult:
    """What one gate concluded, with its findings and where the tool's raw report is."""

    gate: str
    status: GateStatus
    findings: tuple[Finding, ...] = ()
    duration: float = 0.0
    report_path: str | None = None
    note: str = ""
    tool_version: str | None = None
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "gate": self.gate,
            "status": self.status.value,
            "findings": [f.to_dict() for f in self.findings],
            "duration": round(self.duration, 3),
            "report_path": self.report_path,
            "note": self.note,
            "tool_version": self.tool_version,
            "cached": self.cached,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        return cls(
            gate=str(data["gate"]),
            status=GateStatus(data["status"]),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", [])),
            duration=float(data.get("duration", 0.0)),
            report_path=data.get("report_path"),
            note=str(data.get("note", "")),
            tool_version=data.get("tool_version"),
            cached=bool(data.get("cached", False)),
        )

    def with_(self, **changes: Any) -> GateResult:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class GateOutcome:
    """A gate's result judged by its policy: required or advisory, on_error fail or warn."""

    result: GateResult
    required: bool
    on_error: str  # "fail" | "warn"

    @property
    def blocking(self) -> bool:
        """True when this outcome stops a release."""
        if not self.required:
            return False
        status = self.result.status
        return status == GateStatus.FAILED or (
            status == GateStatus.ERROR and self.on_error == "fail"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            **self.result.to_dict(),
            "required": self.required,
            "on_error": self.on_error,
            "blocking": self.blocking,
        }


@dataclass
class GateRun:
    """Gates run together for one project (and environment, when a deploy asked)."""

    project_dir: str
    environment: str | None
    started_at: datetime
    outcomes: list[GateOutcome] = field(default_factory=list)
    duration: float = 0.0
    run_id: int | None = None  # set once stored in the ledger

    @property
    def passed(self) -> bool:
        """No outcome blocks."""
        return not self.blocking

    @property
    def blocking(self) -> list[GateOutcome]:
        return [o for o in self.outcomes if o.blocking]

    def outcome(self, gate: str) -> GateOutcome:
        """The outcome of one gate; KeyError when it did not run."""
        for item in self.outcomes:
            if item.result.gate == gate:
                return item
        raise KeyError(gate)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "run_id": self.run_id,
            "project_dir": self.project_dir,
            "environment": self.environment,
            "started_at": self.started_at.isoformat(),
            "duration": round(self.duration, 3),
            "passed": self.passed,
            "blocking": [o.result.gate for o in self.blocking],
            "gates": [o.to_dict() for o in self.outcomes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateRun:
        """The run `to_dict` (e.g. a server's `POST /api/v1/gates`) described."""
        return cls(
            project_dir=data["project_dir"],
            environment=data.get("environment"),
            started_at=datetime.fromisoformat(data["started_at"]),
            outcomes=[
                GateOutcome(GateResult.from_dict(g), bool(g["required"]), str(g["on_error"]))
                for g in data.get("gates", [])
            ],
            duration=float(data.get("duration", 0.0)),
            run_id=data.get("run_id"),
        )
