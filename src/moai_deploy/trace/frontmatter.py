"""A SPEC document's YAML front matter, checked against MoAI-ADK's metadata standard.

Required (7): id, version, status, created, updated, author, priority. Optional ones we
check: depends_on and related_specs (lists of SPEC ids), scope (a mapping). Allowed values
follow MoAI-ADK's `spec-metadata.md`: status draft|active|completed|deprecated, priority
low|medium|high|critical, dates YYYY-MM-DD, version MAJOR.MINOR.PATCH, author `@handle`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from moai_deploy.trace.model import (
    FIELD_INVALID,
    FIELD_MISSING,
    FRONTMATTER_MISSING,
    Finding,
    Severity,
)
from moai_deploy.trace.specdoc import (
    AT_VALUE,
    ID_PATTERN,
    SpecDocument,
    fallback_info,
    folder_id,
    front_matter,
    quote_at,
    spec_info,
)

__all__ = ["SpecDocument", "folder_id", "read_spec"]
REQUIRED_FIELDS = ("id", "version", "status", "created", "updated", "author", "priority")
STATUSES = ("draft", "active", "completed", "deprecated")
PRIORITIES = ("low", "medium", "high", "critical")
_VERSION = re.compile(r"\d+\.\d+\.\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Constructor(RoundTripConstructor):
    """Keeps timestamps as text, so a bad date is our finding, not a YAML crash."""


_Constructor.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda self, node: self.construct_scalar(node),
)


def read_spec(spec_md: Path, project_dir: Path) -> SpecDocument:
    """Parse and check the front matter of one spec.md (all lines 1-based, in spec.md)."""
    rel = spec_md.relative_to(project_dir)
    text = spec_md.read_text(encoding="utf-8", errors="replace")
    checker = _Checker(rel)
    data = _load(text, checker)
    if data is None:
        return SpecDocument(rel, fallback_info(rel), {}, tuple(checker.findings))
    checker.check(data, folder_id(spec_md))
    lines = {str(key): checker.line_of(data, key) for key in data}
    return SpecDocument(rel, spec_info(rel, data), lines, tuple(checker.findings))


def _load(text: str, checker: _Checker) -> CommentedMap | None:
    head = front_matter(text)
    if head is None:
        first = text.removeprefix("\ufeff").splitlines()[:1]
        opened = first != [] and first[0].rstrip() == "---"
        problem = (
            "the front matter opened on line 1 never closes"
            if opened
            else "no YAML front matter: line 1 must be `---`"
        )
        checker.add(1, FRONTMATTER_MISSING, problem)
        return None
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    try:
        data = yaml.load(AT_VALUE.sub(quote_at, "\n".join(head)))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark is not None else 1
        checker.add(line, FRONTMATTER_MISSING, f"front matter is not valid YAML: {exc.problem}")
        return None
    except YAMLError as exc:
        checker.add(1, FRONTMATTER_MISSING, f"front matter is not valid YAML: {exc}")
        return None
    if not isinstance(data, CommentedMap):
        checker.add(1, FRONTMATTER_MISSING, "front matter must be a mapping of fields")
        return None
    return data


class _Checker:
    """Collects front-matter findings for one spec.md."""

    def __init__(self, rel: Path) -> None:
        self.rel = rel
        self.findings: list[Finding] = []

    def add(self, line: int, rule: str, message: str, severity: Severity = "error") -> None:
        self.findings.append(Finding(self.rel, line, rule, message, severity))

    @staticmethod
    def line_of(data: CommentedMap, key: str) -> int:
        """1-based line of `key` in spec.md (the front matter starts after line 1's `---`)."""
        if key not in data:
            return 1
        line: int = data.lc.key(key)[0]
        return line + 2

    def check(self, data: CommentedMap, expected_id: str | None) -> None:
        for key in REQUIRED_FIELDS:
            if key not in data or data[key] is None or data[key] == "":
                self.add(1, FIELD_MISSING, f"required field `{key}` is missing or empty")
        for key, check in _CHECKS.items():
            if key in data and data[key] is not None and data[key] != "":
                problem = check(data[key])
                if problem:
                    severity: Severity = "warning" if key == "author" else "error"
                    self.add(self.line_of(data, key), FIELD_INVALID, problem, severity)
        self._check_identity(data, expected_id)
        self._check_dates(data)

    def _check_identity(self, data: CommentedMap, expected_id: str | None) -> None:
        declared = data.get("id")
        if expected_id is None or not isinstance(declared, str) or declared == expected_id:
            return
        self.add(
            self.line_of(data, "id"),
            FIELD_INVALID,
            f"`id: {declared}` does not match its folder SPEC-{expected_id} "
            f"(MoAI-ADK: the folder is SPEC-<id>)",
        )

    def _check_dates(self, data: CommentedMap) -> None:
        created, updated = _date(data.get("created")), _date(data.get("updated"))
        if created and updated and updated < created:
            self.add(
                self.line_of(data, "updated"),
                FIELD_INVALID,
                f"`updated` ({updated}) is before `created` ({created})",
            )


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _one_of(key: str, allowed: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value in allowed:
            return None
        return f"`{key}: {value}` is not one of {'|'.join(allowed)}"

    return check


def _check_version(value: Any) -> str | None:
    if isinstance(value, str) and _VERSION.fullmatch(value):
        return None
    return (
        f"`version: {value}` must be MAJOR.MINOR.PATCH, e.g. 0.1.0 (quoted if YAML reads a number)"
    )


def _check_date(key: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if _date(value) is not None:
            return None
        return f"`{key}: {value}` is not a date in the form YYYY-MM-DD"

    return check


def _check_id(value: Any) -> str | None:
    if isinstance(value, str) and ID_PATTERN.fullmatch(value):
        return None
    return f"`id: {value}` must look like AUTH-001 (uppercase words joined by `-`, 3 digits)"


def _check_author(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("@") and len(value) > 1:
        return None
    return f'`author: {value}` should be one handle with an `@` prefix, e.g. "@Goos"'


def _check_id_list(key: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, list) and all(
            isinstance(v, str) and ID_PATTERN.fullmatch(v) for v in value
        ):
            return None
        return f"`{key}` must be a list of SPEC ids such as [USER-001]"

    return check


def _check_scope(value: Any) -> str | None:
    return None if isinstance(value, Mapping) else "`scope` must be a mapping (packages, files)"


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "id": _check_id,
    "version": _check_version,
    "status": _one_of("status", STATUSES),
    "priority": _one_of("priority", PRIORITIES),
    "created": _check_date("created"),
    "updated": _check_date("updated"),
    "author": _check_author,
    "depends_on": _check_id_list("depends_on"),
    "related_specs": _check_id_list("related_specs"),
    "scope": _check_scope,
}
