"""SPEC front matter checks: each problem names spec.md and the line of the field (or 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_deploy.trace import TraceOptions, scan
from moai_deploy.trace.frontmatter import read_spec

CHECKED = TraceOptions(frontmatter=True)
GOOD = {
    "id": "AUTH-001",
    "version": "0.1.0",
    "status": "draft",
    "created": "2025-09-15",
    "updated": "2025-09-16",
    "author": '"@Goos"',
    "priority": "high",
}


def write_spec(root: Path, fields: dict[str, str], folder: str = "SPEC-AUTH-001") -> Path:
    body = "".join(f"{key}: {value}\n" for key, value in fields.items())
    path = root / ".moai" / "specs" / folder / "spec.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{body}---\n\n# Title\n")
    return path


def problems(root: Path, path: Path) -> set[tuple[int, str, str]]:
    return {(f.line or 0, f.rule, f.severity) for f in read_spec(path, root).findings}


def test_a_good_front_matter_has_no_problem(tmp_path: Path) -> None:
    doc = read_spec(write_spec(tmp_path, GOOD), tmp_path)
    assert doc.findings == ()
    assert doc.info is not None and doc.info.id == "AUTH-001" and doc.id_line == 2


@pytest.mark.parametrize("missing", list(GOOD))
def test_each_missing_required_field_is_an_error_on_line_1(tmp_path: Path, missing: str) -> None:
    fields = {k: v for k, v in GOOD.items() if k != missing}
    found = read_spec(write_spec(tmp_path, fields), tmp_path).findings
    assert [(f.file, f.line, f.rule, f.severity) for f in found] == [
        (Path(".moai/specs/SPEC-AUTH-001/spec.md"), 1, "frontmatter-field-missing", "error")
    ]
    assert f"`{missing}`" in found[0].message


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        ("status", "wip", 4),
        ("status", "Draft", 4),  # the values are lowercase
        ("priority", "urgent", 8),
        ("created", "2025-13-01", 5),
        ("created", "2025-02-30", 5),
        ("created", "15/09/2025", 5),
        ("updated", "yesterday", 6),
        ("version", "1.0", 3),  # YAML reads a float
        ("version", "v0.1.0", 3),
        ("id", "auth-1", 2),
        ("id", "SPEC-AUTH-001", 2),  # MoAI-ADK ids have no SPEC- prefix; the folder has
    ],
)
def test_bad_values_are_errors_at_their_line(
    tmp_path: Path, key: str, value: str, line: int
) -> None:
    path = write_spec(tmp_path, {**GOOD, key: value})
    assert problems(tmp_path, path) == {(line, "frontmatter-field-invalid", "error")}


def test_updated_before_created_is_an_error(tmp_path: Path) -> None:
    path = write_spec(tmp_path, {**GOOD, "updated": "2025-09-01"})
    assert problems(tmp_path, path) == {(6, "frontmatter-field-invalid", "error")}


def test_unquoted_moai_author_is_accepted_and_a_bare_name_warned(tmp_path: Path) -> None:
    quoted_free = write_spec(tmp_path, {**GOOD, "author": "@Goos  # MoAI-ADK style"})
    assert problems(tmp_path, quoted_free) == set()
    info = read_spec(quoted_free, tmp_path).info
    assert info is not None and info.id == "AUTH-001"
    bare = write_spec(tmp_path, {**GOOD, "author": "Goos"})
    assert problems(tmp_path, bare) == {(7, "frontmatter-field-invalid", "warning")}


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        ("depends_on: USER-001", 9),  # a list, not a string
        ("related_specs: [user-1]", 9),
        ("scope: [src]", 9),
    ],
)
def test_optional_fields_are_typed(tmp_path: Path, extra: str, line: int) -> None:
    key, value = extra.split(": ", 1)
    path = write_spec(tmp_path, {**GOOD, key: value})
    assert problems(tmp_path, path) == {(line, "frontmatter-field-invalid", "error")}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("# no front matter\n", 1),
        ("---\nid: AUTH-001\n", 1),  # never closes
        ("---\nid: AUTH-001\nstatus: [draft\n---\n", 3),  # YAML error, at the broken line
        ("---\n- a list\n---\n", 1),
        ("---\nid: AUTH-001\nid: AUTH-002\n---\n", 3),  # duplicate key
    ],
)
def test_unreadable_front_matter_is_an_error_in_spec_md(
    tmp_path: Path, text: str, line: int
) -> None:
    path = tmp_path / ".moai" / "specs" / "SPEC-AUTH-001" / "spec.md"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    found = scan(tmp_path, options=CHECKED).findings
    errors = [(f.where, f.rule) for f in found if f.severity == "error"]
    assert errors == [(f".moai/specs/SPEC-AUTH-001/spec.md:{line}", "frontmatter-missing")]
    assert scan(tmp_path).findings == ()  # MoAI-ADK's validator does not read front matter
    # The folder name still identifies the SPEC, so (declared_specs) its chain is traced.
    assert "AUTH-001" in scan(tmp_path, options=CHECKED.with_(declared_specs=True)).chains
