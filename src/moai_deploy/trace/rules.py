"""MoAI-ADK's TAG rules, as its validator (v0.22.0) applies them, and the named options.

What counts (default): every TAG found is a location of its kind, and a SPEC is any
`@SPEC:<ID>` tag. With `declared_specs`: a SPEC is declared by
`.moai/specs/SPEC-<ID>/spec.md` (its front matter `id`); its SPEC locations are the
`@SPEC:<ID>` tags in its own folder, or the `id:` line when it has none; any other tag
inside `.moai/specs/` and `@SPEC` tags elsewhere are references, not locations.

Duplicates (errors, MoAI-ADK's DuplicateValidator): one finding per TAG (`@KIND:ID`) that
is in more than one place, anywhere, reported at its second place (its first repeat).
With `file_duplicates`: one finding per repeat of a TAG within one file; the same TAG in
several files is fine.

Orphans (warnings, its OrphanValidator): `code-without-test` at every `@CODE:X` when no
`@TEST:X` exists, `test-without-code` at every `@TEST:X` when no `@CODE:X` exists. With
`per_id_orphans`: once per ID, at its first place.

Chain rules (its ChainValidator), one finding per ID, placed at the ID's first location of
the kind named first: SPEC without CODE, CODE without SPEC, TEST without SPEC, SPEC and
CODE without TEST (warnings); SPEC, CODE and TEST without DOC (info).

Spec checks (only with `frontmatter`): front matter, a SPEC declared twice, `depends_on`
naming an unknown SPEC (warning). `strict` turns every warning into an error.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from moai_deploy.trace.model import (
    CHAIN_WITHOUT_DOC,
    CODE_WITHOUT_SPEC,
    CODE_WITHOUT_TEST,
    DUPLICATE_SPEC,
    DUPLICATE_TAG,
    SPEC_CODE_WITHOUT_TEST,
    SPEC_WITHOUT_CODE,
    TEST_WITHOUT_CODE,
    TEST_WITHOUT_SPEC,
    UNKNOWN_DEPENDENCY,
    Chain,
    Finding,
    Location,
    Severity,
    SpecInfo,
)
from moai_deploy.trace.options import TraceOptions
from moai_deploy.trace.specdoc import SpecDocument
from moai_deploy.trace.tags import SPECS_DIR, TagHit

Found = dict[tuple[str, str], list[Location]]  # (kind, id) -> its locations, sorted
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


def locations(hits: list[TagHit], specs: dict[str, SpecDocument], options: TraceOptions) -> Found:
    """Counted locations by (kind, id): every hit, or (declared_specs) not the references."""
    own_folder = {doc.path.parent: spec_id for spec_id, doc in specs.items()}
    found: Found = defaultdict(list)
    for hit in hits:
        if options.declared_specs and not _counted(hit, own_folder):
            continue
        found[(hit.kind, hit.id)].append(hit.location)
    for places in found.values():
        places.sort()
    return found


def _counted(hit: TagHit, own_folder: dict[Path, str]) -> bool:
    if hit.location.file.parts[:2] == SPECS_DIR.parts:
        return hit.kind == "SPEC" and own_folder.get(hit.location.file.parent) == hit.id
    return hit.kind != "SPEC"


def duplicate_tags(found: Found, options: TraceOptions) -> list[Finding]:
    """MoAI-ADK: one error per TAG in more than one place; file_duplicates: per repeat."""
    if options.file_duplicates:
        return _repeats_in_a_file(found)
    findings: list[Finding] = []
    for (kind, tag_id), places in found.items():
        if len(places) > 1:
            first, again = places[0], places[1]  # reported where it is first repeated
            findings.append(
                Finding(
                    again.file,
                    again.line,
                    DUPLICATE_TAG,
                    f"@{kind}:{tag_id} is in {len(places)} places (first: {first}); "
                    "MoAI-ADK: each TAG is unique across the codebase",
                    "error",
                )
            )
    return findings


def _repeats_in_a_file(found: Found) -> list[Finding]:
    findings: list[Finding] = []
    for (kind, tag_id), places in found.items():
        first: dict[Path, Location] = {}
        for loc in places:
            seen = first.setdefault(loc.file, loc)
            if seen is not loc:  # a repeat, on a later line or on the same one
                message = (
                    f"@{kind}:{tag_id} appears again in this file (first on line {seen.line}); "
                    "a TAG marks a file once"
                )
                findings.append(Finding(loc.file, loc.line, DUPLICATE_TAG, message, "error"))
    return findings


def build_chains(
    found: Found, specs: dict[str, SpecDocument], options: TraceOptions
) -> dict[str, Chain]:
    """One chain per ID that has a counted tag (or, with declared_specs, a spec.md)."""
    ids = {tag_id for _, tag_id in found}
    if options.declared_specs:
        ids |= set(specs)
    chains: dict[str, Chain] = {}
    for tag_id in sorted(ids):
        spec_locs = found.get(("SPEC", tag_id), [])
        if not spec_locs and options.declared_specs and tag_id in specs:
            spec_locs = [Location(specs[tag_id].path, specs[tag_id].id_line)]
        chains[tag_id] = Chain(
            tag_id,
            spec=tuple(spec_locs),
            code=tuple(found.get(("CODE", tag_id), [])),
            test=tuple(found.get(("TEST", tag_id), [])),
            doc=tuple(found.get(("DOC", tag_id), [])),
        )
    return chains


def orphan_findings(chain: Chain, per_id: bool) -> list[Finding]:
    """CODE without TEST and TEST without CODE, at each place (per_id: at the first)."""
    out: list[Finding] = []
    tag = chain.id
    if chain.code and not chain.test:
        for where in chain.code[:1] if per_id else chain.code:
            message = f"@CODE:{tag} has no @TEST:{tag} anywhere"
            out.append(Finding(where.file, where.line, CODE_WITHOUT_TEST, message, "warning"))
    if chain.test and not chain.code:
        for where in chain.test[:1] if per_id else chain.test:
            message = f"@TEST:{tag} has no @CODE:{tag} anywhere"
            out.append(Finding(where.file, where.line, TEST_WITHOUT_CODE, message, "warning"))
    return out


def chain_findings(chain: Chain) -> list[Finding]:
    """MoAI-ADK's chain rules for one ID (SPEC: a counted @SPEC, or the spec.md)."""
    spec, code, test, doc = chain.spec, chain.code, chain.test, chain.doc
    out: list[Finding] = []
    tag = chain.id

    def add(where: Location, rule: str, message: str, severity: Severity = "warning") -> None:
        out.append(Finding(where.file, where.line, rule, message, severity))

    if spec and not code:
        add(spec[0], SPEC_WITHOUT_CODE, f"SPEC {tag} has no @CODE:{tag}")
    if code and not spec:
        add(code[0], CODE_WITHOUT_SPEC, f"@CODE:{tag} has no SPEC {tag}")
    if test and not spec:
        add(test[0], TEST_WITHOUT_SPEC, f"@TEST:{tag} has no SPEC {tag}")
    if spec and code and not test:
        add(code[0], SPEC_CODE_WITHOUT_TEST, f"SPEC {tag} is implemented but has no @TEST:{tag}")
    if spec and code and test and not doc:
        message = f"SPEC {tag} is implemented and tested but has no @DOC:{tag}"
        add(spec[0], CHAIN_WITHOUT_DOC, message, "info")
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
    """Apply strict mode and sort: errors first, then by file and line (repeats are kept:
    MoAI-ADK reports a TAG written twice on one line twice)."""
    if strict:
        findings = [
            Finding(f.file, f.line, f.rule, f.message, "error") if f.severity == "warning" else f
            for f in findings
        ]
    return tuple(
        sorted(
            findings,
            key=lambda f: (_ORDER[f.severity], f.file.as_posix() if f.file else "", f.line or 0),
        )
    )
