"""What a trace scan hands out: SPECs, TAG chains and findings (immutable records)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from moai_deploy.trace.options import TraceOptions

Severity = Literal["error", "warning", "info"]
TAG_KINDS = ("SPEC", "CODE", "TEST", "DOC")

# Rule names (stable: the `tags` gate and reports refer to them). Each belongs to one of
# MoAI-ADK's issue types (duplicate, orphan, chain) or to the optional spec.md checks.
DUPLICATE_TAG = "duplicate-tag"  # a TAG in more than one place (with file_duplicates: file)
CODE_WITHOUT_TEST = "code-without-test"  # orphan: @CODE:X, no @TEST:X anywhere
TEST_WITHOUT_CODE = "test-without-code"  # orphan: @TEST:X, no @CODE:X anywhere
SPEC_WITHOUT_CODE = "spec-without-code"
CODE_WITHOUT_SPEC = "code-without-spec"
TEST_WITHOUT_SPEC = "test-without-spec"
SPEC_CODE_WITHOUT_TEST = "spec-code-without-test"  # MoAI-ADK: "CODE implementation without TEST"
CHAIN_WITHOUT_DOC = "chain-without-doc"  # info: SPEC, CODE and TEST, no DOC
FRONTMATTER_MISSING = "frontmatter-missing"  # no front matter, or YAML that does not parse
FIELD_MISSING = "frontmatter-field-missing"
FIELD_INVALID = "frontmatter-field-invalid"
DUPLICATE_SPEC = "duplicate-spec"  # two spec.md files declare the same SPEC id
UNKNOWN_DEPENDENCY = "unknown-dependency"  # depends_on names a SPEC that does not exist

CATEGORIES = ("duplicate", "orphan", "chain", "spec")
RULE_CATEGORY = {
    DUPLICATE_TAG: "duplicate",
    CODE_WITHOUT_TEST: "orphan",
    TEST_WITHOUT_CODE: "orphan",
    SPEC_WITHOUT_CODE: "chain",
    CODE_WITHOUT_SPEC: "chain",
    TEST_WITHOUT_SPEC: "chain",
    SPEC_CODE_WITHOUT_TEST: "chain",
    CHAIN_WITHOUT_DOC: "chain",
    FRONTMATTER_MISSING: "spec",
    FIELD_MISSING: "spec",
    FIELD_INVALID: "spec",
    DUPLICATE_SPEC: "spec",
    UNKNOWN_DEPENDENCY: "spec",
}


@dataclass(frozen=True, order=True)
class Location:
    """One place in the project: a path relative to the project folder and a 1-based line."""

    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file.as_posix()}:{self.line}"


@dataclass(frozen=True)
class Finding:
    """One problem the scan found; `file` is relative to the project folder."""

    file: Path | None
    line: int | None
    rule: str
    message: str
    severity: Severity

    @property
    def where(self) -> str:
        """`file:line`, `file` or `-` when the finding has no location."""
        if self.file is None:
            return "-"
        return f"{self.file.as_posix()}:{self.line}" if self.line else self.file.as_posix()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "file": self.file.as_posix() if self.file else None,
            "line": self.line,
            "rule": self.rule,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class SpecInfo:
    """One SPEC document's identity, as its front matter declares it."""

    id: str
    version: str | None
    status: str | None
    priority: str | None
    path: Path
    depends_on: tuple[str, ...] = ()
    related_specs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {
            "id": self.id,
            "version": self.version,
            "status": self.status,
            "priority": self.priority,
            "path": self.path.as_posix(),
            "depends_on": list(self.depends_on),
            "related_specs": list(self.related_specs),
        }


@dataclass(frozen=True)
class Chain:
    """Where one ID's SPEC, CODE, TEST and DOC tags are."""

    id: str
    spec: tuple[Location, ...] = ()
    code: tuple[Location, ...] = ()
    test: tuple[Location, ...] = ()
    doc: tuple[Location, ...] = ()

    def of(self, kind: str) -> tuple[Location, ...]:
        """Locations of one kind (SPEC, CODE, TEST or DOC)."""
        found: tuple[Location, ...] = getattr(self, kind.lower())
        return found

    def to_dict(self) -> dict[str, list[str]]:
        """Each kind as a list of `file:line` strings."""
        return {kind.lower(): [str(loc) for loc in self.of(kind)] for kind in TAG_KINDS}


@dataclass(frozen=True)
class TraceReport:
    """The result of `scan`: SPECs, chains by ID, and findings (most severe first)."""

    project_dir: Path
    strict: bool
    has_specs: bool
    specs: tuple[SpecInfo, ...]
    chains: dict[str, Chain]
    findings: tuple[Finding, ...]
    files_scanned: int = 0
    tags_found: int = 0
    options: TraceOptions = field(default_factory=TraceOptions)
    counts: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        tally = {"error": 0, "warning": 0, "info": 0}
        for finding in self.findings:
            tally[finding.severity] += 1
        object.__setattr__(self, "counts", tally)

    @property
    def mode(self) -> str:
        """Which rules ran: `moai-adk`, or `moai-adk+<option>+...`."""
        return self.options.mode

    def by_rule(self) -> dict[str, dict[str, int]]:
        """Findings per rule and severity: `{"duplicate-tag": {"error": 611}, ...}`."""
        tally = Counter((f.rule, f.severity) for f in self.findings)
        out: dict[str, dict[str, int]] = {}
        for (rule, severity), count in sorted(tally.items()):
            out.setdefault(rule, {})[severity] = count
        return out

    def by_category(self) -> dict[str, int]:
        """Findings per MoAI-ADK issue type (duplicate, orphan, chain) and spec checks."""
        tally = Counter(RULE_CATEGORY.get(f.rule, "spec") for f in self.findings)
        return {category: tally[category] for category in CATEGORIES}

    @property
    def passed(self) -> bool:
        """True when no finding is an error (with `strict`, warnings already are errors)."""
        return self.counts["error"] == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of the whole report."""
        return {
            "project_dir": str(self.project_dir),
            **self.options.to_dict(),
            "strict": self.strict,
            "has_specs": self.has_specs,
            "passed": self.passed,
            "counts": dict(self.counts),
            "files_scanned": self.files_scanned,
            "tags_found": self.tags_found,
            "by_category": self.by_category(),
            "by_rule": self.by_rule(),
            "specs": [s.to_dict() for s in self.specs],
            "chains": {key: chain.to_dict() for key, chain in sorted(self.chains.items())},
            "findings": [f.to_dict() for f in self.findings],
        }
