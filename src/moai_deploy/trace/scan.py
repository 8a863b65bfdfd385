"""`scan`: a project's SPECs and TAG chains checked by MoAI-ADK's rules; `release_specs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moai_deploy.errors import BadInputError
from moai_deploy.trace.frontmatter import SpecDocument, read_spec
from moai_deploy.trace.model import Finding, TraceReport
from moai_deploy.trace.rules import (
    build_chains,
    chain_findings,
    declared_specs,
    dependency_findings,
    duplicate_tags,
    finalize,
    locations,
)
from moai_deploy.trace.tags import SPECS_DIR, project_files, read_tags


def spec_documents(project_dir: Path) -> list[SpecDocument]:
    """Every `.moai/specs/SPEC-*/spec.md`, parsed and checked, in path order."""
    folder = project_dir / SPECS_DIR
    paths = sorted(p for p in folder.glob("SPEC-*/spec.md") if p.is_file())
    return [read_spec(path, project_dir) for path in paths]


def scan(project_dir: Path, strict: bool = False) -> TraceReport:
    """Check the project's SPEC front matter and TAG chains; paths in the report are relative."""
    if not project_dir.is_dir():
        raise BadInputError(f"{project_dir} is not a folder, so there is nothing to trace")
    root = project_dir.resolve()
    docs = spec_documents(root)
    files = list(project_files(root))
    hits = [hit for path in files for hit in read_tags(path, root)]
    specs, findings = declared_specs(docs)
    for doc in docs:
        findings.extend(doc.findings)
    found = locations(hits, specs)
    findings.extend(duplicate_tags(found))
    chains = build_chains(found, specs)
    for chain in chains.values():
        findings.extend(chain_findings(chain, chain.id in specs))
    findings.extend(dependency_findings(specs))
    return TraceReport(
        project_dir=root,
        strict=strict,
        has_specs=bool(docs),
        specs=tuple(doc.info for doc in specs.values() if doc.info is not None),
        chains=chains,
        findings=finalize(findings, strict),
        files_scanned=len(files),
    )


def release_specs(snapshot_dir: Path) -> list[dict[str, Any]]:
    """The SPECs a release snapshot carries: `[{"id", "version", "status"}]` sorted by id.

    Read from the snapshot's own `.moai/specs`, so a release records what its code declared,
    whatever the work tree says later. A spec.md without a usable id is left out.
    """
    specs, _ = declared_specs(spec_documents(snapshot_dir.resolve()))
    return [
        {"id": spec_id, "version": doc.info.version, "status": doc.info.status}
        for spec_id, doc in sorted(specs.items())
        if doc.info is not None
    ]


def errors_of(report: TraceReport) -> list[Finding]:
    """The findings that make the report fail."""
    return [f for f in report.findings if f.severity == "error"]
