"""`moai_deploy.trace.scan` on a multi-SPEC fixture: MoAI-ADK's default reading, every chain
rule with all documented differences on (moai-deploy's own reading), strict mode, front matter.

TAG strings are built with `tag()` so this file holds no TAG of its own (the repository is
traced too, and must not pick up chains from its tests).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from moai_deploy.errors import BadInputError
from moai_deploy.trace import TraceOptions, release_specs, scan
from moai_deploy.trace.model import Location
from moai_deploy.trace.scan import spec_documents

FIXTURES = Path(__file__).parent.parent / "fixtures"
REPO = Path(__file__).parent.parent.parent
ALL = TraceOptions.all()


def tag(kind: str, tag_id: str) -> str:
    return f"@{kind}:{tag_id}"


@pytest.fixture
def multi(tmp_path: Path) -> Path:
    """A copy of the multi-SPEC fixture plus folders the scan must skip (git ignores them)."""
    root = tmp_path / "shop"
    shutil.copytree(FIXTURES / "trace_multi", root)
    planted = f"# {tag('CODE', 'PAY-001')}\n"
    for folder in ("node_modules/lib", ".venv/lib", "build", "dist", "__pycache__", ".git"):
        (root / folder).mkdir(parents=True)
        (root / folder / "pay.py").write_text(planted)
    (root / ".moai-deploy").mkdir()
    (root / ".moai-deploy" / "pay.json").write_text(json.dumps(planted))
    (root / "shop.egg-info").mkdir()
    (root / "shop.egg-info" / "PKG-INFO.txt").write_text(planted)
    nested = root / "vendor" / "other"  # a project of its own
    (nested / ".moai" / "specs").mkdir(parents=True)
    (nested / "pay.py").write_text(planted)
    (root / "src" / "shop" / "blob").write_bytes(b"\0\1" + planted.encode())
    return root


def found(report_findings: object) -> set[tuple[str, str, str]]:
    return {(f.severity, f.where, f.rule) for f in report_findings}  # type: ignore[attr-defined]


SPEC = ".moai/specs/SPEC-{}-001/spec.md"
EXPECTED = {
    ("error", SPEC.format("CART") + ":1", "frontmatter-field-missing"),
    ("error", SPEC.format("SHIP") + ":4", "frontmatter-field-invalid"),
    ("error", SPEC.format("SHIP") + ":5", "frontmatter-field-invalid"),
    ("error", "src/shop/cart.py:8", "duplicate-tag"),
    ("warning", SPEC.format("PAY") + ":9", "unknown-dependency"),
    ("warning", SPEC.format("PAY") + ":12", "spec-without-code"),
    ("warning", "src/shop/legacy.py:4", "code-without-test"),
    ("warning", "src/shop/legacy.py:4", "code-without-spec"),
    ("warning", "tests/search_checks.py:1", "test-without-code"),
    ("warning", "tests/search_checks.py:1", "test-without-spec"),
    ("info", SPEC.format("USER") + ":2", "chain-without-doc"),
}


def test_every_chain_rule_is_found_with_file_and_line(multi: Path) -> None:
    report = scan(multi, options=ALL)
    assert found(report.findings) == EXPECTED
    assert report.counts == {"error": 4, "warning": 6, "info": 1}
    assert not report.passed and report.has_specs
    assert [f.severity for f in report.findings] == sorted(
        (f.severity for f in report.findings), key=["error", "warning", "info"].index
    )
    assert all(not f.file.is_absolute() for f in report.findings if f.file)


def test_strict_turns_warnings_into_errors_and_keeps_infos(multi: Path) -> None:
    report = scan(multi, strict=True, options=ALL)
    assert report.counts == {"error": 10, "warning": 0, "info": 1}
    relaxed = {(w, r) for s, w, r in EXPECTED if s != "info"}
    assert {(f.where, f.rule) for f in report.findings if f.severity == "error"} == relaxed


def test_chains_hold_every_location_and_ignore_references(multi: Path) -> None:
    chains = {key: chain.to_dict() for key, chain in scan(multi, options=ALL).chains.items()}
    assert chains["AUTH-001"] == {
        "spec": [SPEC.format("AUTH") + ":17"],
        "code": ["src/shop/auth.py:1", "src/shop/session.py:1"],  # one ID, two modules
        "test": ["tests/auth_checks.py:1"],
        "doc": ["docs/auth.md:3"],
    }
    # No @SPEC tag in its body: the chain points at the `id:` line.
    assert chains["USER-001"]["spec"] == [SPEC.format("USER") + ":2"]
    # PAY-001's code is only planted in skipped folders, a nested project, a binary file,
    # a .rs file, .moai/memory and its own spec.md (a reference): none of them counts.
    assert chains["PAY-001"] == {
        "spec": [SPEC.format("PAY") + ":12"],
        "code": [],
        "test": [],
        "doc": [],
    }
    assert set(chains) == {
        "AUTH-001", "CART-001", "LEGACY-001", "PAY-001", "SEARCH-001", "SHIP-001", "STRAY-001",
        "USER-001",
    }  # fmt: skip


def test_by_default_every_tag_counts_where_moai_adk_reads(multi: Path) -> None:
    report = scan(multi)
    assert report.mode == "moai-adk"
    # Read: build/, dist/, *.egg-info, a nested project, a binary without an extension,
    # .moai/memory and spec.md bodies. Not: .venv, node_modules, __pycache__, .git (its
    # patterns), .moai-deploy (moai-deploy's state), .rs (not one of its types).
    assert report.chains["PAY-001"].to_dict()["code"] == [
        ".moai/memory/guide.md:3",
        SPEC.format("PAY") + ":14",
        "build/pay.py:1",
        "dist/pay.py:1",
        "shop.egg-info/PKG-INFO.txt:1",
        "src/shop/blob:1",
        "vendor/other/pay.py:1",
    ]
    # Any @SPEC tag is a SPEC (the guide's example too), so each is a duplicate as well.
    assert report.chains["AUTH-001"].to_dict()["spec"] == [
        ".moai/memory/guide.md:3",
        ".moai/memory/guide.md:3",
        SPEC.format("AUTH") + ":17",
        "src/shop/auth.py:1",
    ]
    assert {f.rule for f in report.findings if f.rule.startswith("frontmatter")} == set()
    assert report.counts == {"error": 6, "warning": 6, "info": 1}


def test_specs_carry_front_matter_values(multi: Path) -> None:
    # The report's summary (PyYAML, no checks) and the checked reading agree.
    assert [d.info for d in spec_documents(multi, check=False)] == [
        d.info for d in spec_documents(multi, check=True)
    ]
    specs = {s.id: s for s in scan(multi).specs}
    auth = specs["AUTH-001"]
    assert (auth.version, auth.status, auth.priority) == ("0.2.0", "completed", "critical")
    assert auth.depends_on == ("USER-001",) and auth.related_specs == ("PAY-001",)
    assert auth.path == Path(SPEC.format("AUTH"))
    assert specs["CART-001"].priority is None
    assert specs["SHIP-001"].status == "shipped"  # reported, still shown as written


def test_report_to_dict_is_json(multi: Path) -> None:
    data = json.loads(json.dumps(scan(multi, options=ALL).to_dict()))
    assert data["passed"] is False and data["counts"]["error"] == 4
    assert data["mode"] == ALL.mode and data["options"]["file_duplicates"] is True
    assert data["by_rule"]["duplicate-tag"] == {"error": 1}
    assert data["chains"]["CART-001"]["code"] == ["src/shop/cart.py:1", "src/shop/cart.py:8"]
    dup = next(f for f in data["findings"] if f["rule"] == "duplicate-tag")
    assert dup == {
        "file": "src/shop/cart.py",
        "line": 8,
        "rule": "duplicate-tag",
        "severity": "error",
        "message": dup["message"],
    }
    assert "first on line 1" in dup["message"]


def test_same_spec_declared_twice_is_a_duplicate(tmp_path: Path) -> None:
    body = "---\nid: {}\nversion: 0.1.0\nstatus: draft\ncreated: 2025-01-01\n"
    body += "updated: 2025-01-01\nauthor: '@me'\npriority: low\n---\n"
    for folder, spec_id in (("SPEC-MAIL-001", "MAIL-001"), ("SPEC-MAIL-OLD-001", "MAIL-001")):
        (tmp_path / ".moai" / "specs" / folder).mkdir(parents=True)
        (tmp_path / ".moai" / "specs" / folder / "spec.md").write_text(body.format(spec_id))
    (tmp_path / "mail.py").write_text(f"# {tag('CODE', 'MAIL-001')}\n")
    (tmp_path / "mail_checks.py").write_text(f"# {tag('TEST', 'MAIL-001')}\n")
    checked = scan(tmp_path, options=TraceOptions(frontmatter=True)).findings
    errors = {(f.where, f.rule) for f in checked if f.severity == "error"}
    assert errors == {
        (".moai/specs/SPEC-MAIL-OLD-001/spec.md:2", "duplicate-spec"),
        (".moai/specs/SPEC-MAIL-OLD-001/spec.md:2", "frontmatter-field-invalid"),  # folder id
    }


def test_same_spec_tag_twice_in_its_spec_is_a_duplicate(tmp_path: Path) -> None:
    folder = tmp_path / ".moai" / "specs" / "SPEC-A-001"
    folder.mkdir(parents=True)
    head = "---\nid: A-001\nversion: 0.1.0\nstatus: draft\ncreated: 2025-01-01\n"
    head += "updated: 2025-01-01\nauthor: '@me'\npriority: low\n---\n"
    (folder / "spec.md").write_text(head + f"# {tag('SPEC', 'A-001')}\n\n{tag('SPEC', 'A-001')}\n")
    dup = [f for f in scan(tmp_path).findings if f.rule == "duplicate-tag"]
    assert [(f.where, f.severity) for f in dup] == [(".moai/specs/SPEC-A-001/spec.md:12", "error")]


def test_no_specs_folder_means_has_specs_false(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(f"# {tag('CODE', 'X-001')}\n# {tag('TEST', 'X-001')}\n")
    report = scan(tmp_path)
    assert not report.has_specs and report.specs == ()
    assert report.chains["X-001"].code == (Location(Path("app.py"), 1),)
    assert {f.rule for f in report.findings} == {"code-without-spec", "test-without-spec"}
    assert report.passed


def test_a_missing_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError):
        scan(tmp_path / "nope")


@pytest.mark.parametrize("options", [TraceOptions(), ALL], ids=["moai-adk", "all"])
def test_hello_service_example_passes_even_strict(options: TraceOptions) -> None:
    report = scan(REPO / "examples" / "hello-service", strict=True, options=options)
    assert report.passed and report.findings == ()
    chain = report.chains["HELLO-001"].to_dict()
    assert chain == {  # each TAG once: MoAI-ADK's duplicate rule holds
        "spec": [".moai/specs/SPEC-HELLO-001/spec.md:11"],
        "code": ["app/main.py:7"],
        "test": ["tests/test_hello_app.py:3"],
        "doc": ["README.md:3"],
    }


def test_the_repository_itself_passes_and_keeps_nested_projects_apart() -> None:
    report = scan(REPO, options=ALL)
    assert report.passed, [f.to_dict() for f in report.findings if f.severity == "error"]
    assert not report.has_specs  # moai-deploy has no .moai/specs of its own
    assert not {"HELLO-001", "AUTH-001", "LEGACY-001", "DEMO-001"} & set(report.chains)
    assert report.files_scanned > 50
    # MoAI-ADK's reading takes the fixtures and the example in (they are nested projects).
    assert {"HELLO-001", "AUTH-001", "DEMO-001"} <= set(scan(REPO).chains)


def test_release_specs_lists_id_version_status(multi: Path, tmp_path: Path) -> None:
    assert release_specs(multi) == [
        {"id": "AUTH-001", "version": "0.2.0", "status": "completed"},
        {"id": "CART-001", "version": "0.1.0", "status": "active"},
        {"id": "PAY-001", "version": "0.0.1", "status": "draft"},
        {"id": "SHIP-001", "version": "0.1.0", "status": "shipped"},
        {"id": "USER-001", "version": "0.1.0", "status": "active"},
    ]
    assert release_specs(tmp_path / "empty-snapshot") == []
