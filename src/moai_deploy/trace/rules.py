"""MoAI-ADK's chain rules over SPEC documents and TAG occurrences.

What counts where:
- A SPEC is declared by `.moai/specs/SPEC-<ID>/spec.md` (its front matter `id`). Its SPEC
  locations are the `@SPEC:<ID>` tags in its own folder, or the `id:` line when it has none.
- `@CODE`, `@TEST` and `@DOC` tags anywhere else are locations of their kind. Any other tag
  inside `.moai/specs/` (a SPEC citing its code, or another SPEC) and `@SPEC` tags outside
  it (MoAI-ADK's `# @CODE:X | @SPEC:X` headers) are references, not locations.

Duplicates (errors): two spec.md files declaring the same id (`duplicate-spec`), and the
same TAG more than once in one file (`duplicate-tag`, reported at each repeat): a TAG marks
a file once, while one `@CODE:ID` in several files is normal (code spans modules).

Chain rules, one finding per ID at its first location: CODE without TEST, TEST without
CODE, SPEC without CODE, CODE without SPEC are warnings; a SPEC+CODE+TEST chain without DOC
and a DOC without SPEC are infos; `depends_on` naming an unknown SPEC is a warning.
`strict` turns every warning into an error.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from moai_deploy.trace.frontmatter import SpecDocument
from moai_deploy.trace.model import (
    CHAIN_WITHOUT_DOC,
    CODE_WITHOUT_SPEC,
    CODE_WITHOUT_TEST,
    DOC_WITHOUT_SPEC,
    DUPLICATE_SPEC,
    DUPLICATE_TAG,
    SPEC_WITHOUT_CODE,
    TEST_WITHOUT_CODE,
    UNKNOWN_DEPENDENCY,
    Chain,
    Finding,
    Location,
    Severity,
    SpecInfo,
)
from moai_deploy.trace.tags import SPECS_DIR, TagHit

_ORDER = {"error": 0, "warning": 1, "info": 2}


def declared_specs(docs: list[SpecDocument]) -> tuple[dict[str, SpecDocument], list[Finding]]:
    """The first document declaring each id, and an error for every later one."""
    first: dict[str, SpecDocument] = {}
    findings: list[Finding] = []
    for doc in docs:
        if doc.info is None:
            continue
        seen = first.setdefault(doc.info.id, doc)
        if seen is not doc:
            findings.append(
                Finding(
                    doc.path,
                    doc.id_line,
                    DUPLICATE_SPEC,
                    f"SPEC {doc.info.id} is already declared in {seen.path.as_posix()}",
                    "error",
                )
            )
    return first, findings


def locations(
    hits: list[TagHit], specs: dict[str, SpecDocument]
) -> dict[tuple[str, str], list[Location]]:
    """Counted locations by (kind, id); references are dropped (see the module docstring)."""
    own_folder = {doc.path.parent: spec_id for spec_id, doc in specs.items()}
    found: dict[tuple[str, str], list[Location]] = defaultdict(list)
    for hit in hits:
        in_specs = hit.location.file.parts[:2] == SPECS_DIR.parts
        if in_specs:
            counted = hit.kind == "SPEC" and own_folder.get(hit.location.file.parent) == hit.id
        else:
            counted = hit.kind != "SPEC"
        if counted:
            found[(hit.kind, hit.id)].append(hit.location)
    return found


def duplicate_tags(found: dict[tuple[str, str], list[Location]]) -> list[Finding]:
    """An error for each repeat of a TAG within one file."""
    findings: list[Finding] = []
    for (kind, tag_id), places in found.items():
        first_line: dict[Path, int] = {}
        for loc in sorted(places):
            line = first_line.setdefault(loc.file, loc.line)
            if line != loc.line:
                findings.append(
                    Finding(
                        loc.file,
                        loc.line,
                        DUPLICATE_TAG,
                        f"@{kind}:{tag_id} appears again in this file (first on line {line}); "
                        "a TAG marks a file once",
                        "error",
                    )
                )
    return findings


def build_chains(
    found: dict[tuple[str, str], list[Location]], specs: dict[str, SpecDocument]
) -> dict[str, Chain]:
    """One chain per ID that has a SPEC or any counted tag."""
    ids = set(specs) | {tag_id for _, tag_id in found}
    chains: dict[str, Chain] = {}
    for tag_id in sorted(ids):
        spec_locs = sorted(found.get(("SPEC", tag_id), []))
        if not spec_locs and tag_id in specs:
            spec_locs = [Location(specs[tag_id].path, specs[tag_id].id_line)]
        chains[tag_id] = Chain(
            tag_id,
            spec=tuple(spec_locs),
            code=tuple(sorted(found.get(("CODE", tag_id), []))),
            test=tuple(sorted(found.get(("TEST", tag_id), []))),
            doc=tuple(sorted(found.get(("DOC", tag_id), []))),
        )
    return chains


def chain_findings(chain: Chain, declared: bool) -> list[Finding]:
    """MoAI-ADK's chain rules for one ID."""
    spec, code, test, doc = chain.spec, chain.code, chain.test, chain.doc
    out: list[Finding] = []
    tag = chain.id

    def add(where: Location, rule: str, message: str, severity: Severity) -> None:
        out.append(Finding(where.file, where.line, rule, message, severity))

    if code and not test:
        add(code[0], CODE_WITHOUT_TEST, f"@CODE:{tag} has no @TEST:{tag}", "warning")
    if test and not code:
        add(test[0], TEST_WITHOUT_CODE, f"@TEST:{tag} has no @CODE:{tag}", "warning")
    if declared and not code:
        add(spec[0], SPEC_WITHOUT_CODE, f"SPEC {tag} has no @CODE:{tag}", "warning")
    if code and not declared:
        add(code[0], CODE_WITHOUT_SPEC, f"@CODE:{tag} has no SPEC-{tag}/spec.md", "warning")
    if doc and not declared:
        add(doc[0], DOC_WITHOUT_SPEC, f"@DOC:{tag} has no SPEC-{tag}/spec.md", "info")
    if declared and code and test and not doc:
        add(
            spec[0],
            CHAIN_WITHOUT_DOC,
            f"SPEC {tag} is implemented and tested but has no @DOC:{tag}",
            "info",
        )
    return out


def dependency_findings(specs: dict[str, SpecDocument]) -> list[Finding]:
    """A warning for each `depends_on` id that no SPEC declares."""
    out: list[Finding] = []
    for doc in specs.values():
        info: SpecInfo | None = doc.info
        for needed in info.depends_on if info else ():
            if needed not in specs:
                line = doc.lines.get("depends_on", 1)
                message = f"depends_on {needed}, but no SPEC-{needed}/spec.md exists"
                out.append(Finding(doc.path, line, UNKNOWN_DEPENDENCY, message, "warning"))
    return out


def finalize(findings: list[Finding], strict: bool) -> tuple[Finding, ...]:
    """Apply strict mode and sort: errors first, then by file and line."""
    if strict:
        findings = [
            Finding(f.file, f.line, f.rule, f.message, "error") if f.severity == "warning" else f
            for f in findings
        ]
    unique = dict.fromkeys(findings)  # frozen dataclasses: drop exact repeats, keep order
    return tuple(
        sorted(
            unique,
            key=lambda f: (_ORDER[f.severity], f.file.as_posix() if f.file else "", f.line or 0),
        )
    )
