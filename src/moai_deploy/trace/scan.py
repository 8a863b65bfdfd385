"""`scan`: a project's TAGs checked by MoAI-ADK's rules (and options); `release_specs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from moai_deploy.errors import BadInputError
from moai_deploy.trace.model import Finding, TraceReport
from moai_deploy.trace.options import TraceOptions
from moai_deploy.trace.rules import (
    build_chains,
    chain_findings,
    declared_specs,
    dependency_findings,
    duplicate_tags,
    finalize,
    locations,
    orphan_findings,
)
from moai_deploy.trace.specdoc import SpecDocument, summarize
from moai_deploy.trace.tags import SPECS_DIR, project_files, read_tags


def spec_documents(project_dir: Path, check: bool = True) -> list[SpecDocument]:
    """Every `.moai/specs/SPEC-*/spec.md` in path order: parsed and checked (`check`), or
    only summarized (identity, no findings; much faster)."""
    folder = project_dir / SPECS_DIR
    paths = sorted(p for p in folder.glob("SPEC-*/spec.md") if p.is_file())
    if not check:
        return [summarize(path, project_dir) for path in paths]
    from moai_deploy.trace.frontmatter import read_spec  # ruamel.yaml: only when checking

    return [read_spec(path, project_dir) for path in paths]


def scan(
    project_dir: Path, strict: bool = False, options: TraceOptions | None = None
) -> TraceReport:
    """Check the project's TAGs (and, with `frontmatter`, its spec.md files) by MoAI-ADK's
    rules and the options given; paths in the report are relative to the project."""
    if not project_dir.is_dir():
        raise BadInputError(f"{project_dir} is not a folder, so there is nothing to trace")
    opts = options or TraceOptions()
    root = project_dir.resolve()
    docs = spec_documents(root, check=opts.frontmatter)
    files = list(project_files(root, opts))
    hits = [hit for path in files for hit in read_tags(path, root, opts.skip_binary)]
    specs, findings = declared_specs(docs)
    if not opts.frontmatter:
        findings = []
    found = locations(hits, specs, opts)
    findings.extend(duplicate_tags(found, opts))
    chains = build_chains(found, specs, opts)
    for chain in chains.values():
        findings.extend(orphan_findings(chain, per_id=opts.per_id_orphans))
        findings.extend(chain_findings(chain))
    if opts.frontmatter:
        findings.extend(finding for doc in docs for finding in doc.findings)
        findings.extend(dependency_findings(specs))
    return TraceReport(
        project_dir=root,
        strict=strict,
        has_specs=bool(docs),
        specs=tuple(doc.info for doc in specs.values() if doc.info is not None),
        chains=chains,
        findings=finalize(findings, strict),
        files_scanned=len(files),
        tags_found=len(hits),
        options=opts,
    )


def release_specs(snapshot_dir: Path) -> list[dict[str, Any]]:
    """The SPECs a release snapshot carries: `[{"id", "version", "status"}]` sorted by id.

    Read from the snapshot's own `.moai/specs`, so a release records what its code declared,
    whatever the work tree says later. A spec.md without a usable id is left out.
    """
    specs, _ = declared_specs(spec_documents(snapshot_dir.resolve(), check=False))
    return [
        {"id": spec_id, "version": doc.info.version, "status": doc.info.status}
        for spec_id, doc in sorted(specs.items())
        if doc.info is not None
    ]


def errors_of(report: TraceReport) -> list[Finding]:
    """The findings that make the report fail."""
    return [f for f in report.findings if f.severity == "error"]
