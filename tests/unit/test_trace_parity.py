"""trace agrees with MoAI-ADK's own validator on a MoAI-ADK-shaped tree, rule by rule, and
each documented difference changes exactly what it says.

The tree is `tests/fixtures/trace_moai_adk` plus folders git would not keep, planted by
`tree()`: `.venv/`, `node_modules/`, `__pycache__/`, `build/`, `.git/` each holding a
copy of the sign-in code's TAG, and `bin/shop-admin-linux`, a binary without an extension
that embeds the admin script's TAG. The fixture has nested `.moai/` (the project template
under `src/shop/templates`), hidden folders (`.claude/`, `.github/`, `.moai/memory`,
`.moai/config.json`), TAGs repeated across files (README.md and README.ko.md), in one file
and on one line, `@CODE`/`@TEST` inside `.moai/specs`, `@SPEC` outside spec.md, a
`venv_tools.py` whose name contains `venv`, a file without an extension and a `.rs` file.

The `default` counts are MoAI-ADK's: its validator (modu-ai/moai-adk at tag v0.22.0,
`moai_adk.core.tags.cli`, default configuration, run by hand from the planted tree's root
as `python -m moai_adk.core.tags.cli . --format json`; its code is not in this
repository) reported 25 files, 36 tags, and exactly these issues per rule. The other
columns follow from each option's definition (see `trace/options.py`); the module
docstring of `trace/rules.py` maps our rule names to MoAI-ADK's messages.

TAG strings are built with `tag()` so this file holds no TAG of its own.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from moai_deploy.cli.trace import register
from moai_deploy.trace import TraceOptions, scan
from moai_deploy.trace.options import names

FIXTURE = Path(__file__).parent.parent / "fixtures" / "trace_moai_adk"
PLANTED = (".venv/lib/site-packages", "node_modules/auth", "src/shop/__pycache__", "build/lib")


def tag(kind: str, tag_id: str) -> str:
    return f"@{kind}:{tag_id}"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = Path(shutil.copytree(FIXTURE, tmp_path / "shop"))
    planted = f"# {tag('CODE', 'AUTH-001')}\n"
    for folder in PLANTED:
        (root / folder).mkdir(parents=True)
        (root / folder / "auth.py").write_text(planted)
    (root / ".git").mkdir()
    (root / ".git" / "COMMIT_EDITMSG").write_text(planted)
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8
    binary = elf + f"# {tag('CODE', 'ADMIN-001')}\n".encode() + b"\xff\xfe\x00"
    (root / "bin" / "shop-admin-linux").write_bytes(binary)
    return root


RULES = (
    "duplicate-tag",
    "code-without-test",
    "test-without-code",
    "spec-without-code",
    "code-without-spec",
    "test-without-spec",
    "spec-code-without-test",
    "chain-without-doc",
    "frontmatter-field-missing",
    "unknown-dependency",
)
# column -> (files, tags, counts in RULES order)
EXPECTED: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "default": (25, 36, (8, 5, 2, 1, 6, 5, 1, 1, 0, 0)),  # = MoAI-ADK v0.22.0
    # reads .github/workflows/tags.yml (CI's TEST) and src/shop/venv_tools.py (TOOLS' CODE),
    # skips build/: CI and TOOLS lose their orphan warning, gain a "without SPEC" one
    "exact_ignores": (26, 37, (8, 4, 1, 1, 7, 6, 1, 1, 0, 0)),
    # no .claude/ (DEMO's chain), .moai/config.json (CFG) or .moai/memory (EXAMPLE)
    "skip_hidden": (21, 29, (7, 4, 2, 1, 4, 4, 1, 0, 0, 0)),
    # no src/shop/templates (its own .moai/): TPL's chain and a copy of AUTH's CODE go
    "separate_nested": (23, 33, (8, 4, 2, 1, 6, 5, 0, 1, 0, 0)),
    # the ELF binary's copy of ADMIN's CODE is not read: one duplicate fewer
    "skip_binary": (25, 35, (7, 5, 2, 1, 6, 5, 1, 1, 0, 0)),
    # only repeats within a file: cart.py (line 8) and legacy.py (same line)
    "file_duplicates": (25, 36, (2, 5, 2, 1, 6, 5, 1, 1, 0, 0)),
    # legacy.py's two CODE tags on one line: one orphan warning, not two
    "per_id_orphans": (25, 36, (8, 4, 2, 1, 6, 5, 1, 1, 0, 0)),
    # SPECs are AUTH and PAY (root spec.md files); README's, auth.py's, .claude's and the
    # template's @SPEC tags and the CODE/TEST cited inside SPEC-AUTH-001 are references
    "declared_specs": (25, 36, (5, 5, 2, 1, 8, 6, 0, 0, 0, 0)),
    # PAY-001's spec.md lacks `priority` and depends on an unknown GHOST-001
    "frontmatter": (25, 36, (8, 5, 2, 1, 6, 5, 1, 1, 1, 1)),
    "all": (20, 26, (2, 1, 1, 1, 5, 5, 0, 0, 1, 1)),
}


def counts(root: Path, options: TraceOptions) -> tuple[int, int, tuple[int, ...]]:
    report = scan(root, options=options)
    assert {f.rule for f in report.findings} <= set(RULES)
    per_rule = tuple(sum(1 for f in report.findings if f.rule == rule) for rule in RULES)
    return report.files_scanned, report.tags_found, per_rule


@pytest.mark.parametrize("column", list(EXPECTED))
def test_counts_by_rule_match_moai_adk_and_each_option(tree: Path, column: str) -> None:
    if column == "default":
        options = TraceOptions()
    elif column == "all":
        options = TraceOptions.all()
    else:
        options = TraceOptions(**{column: True})
    assert counts(tree, options) == EXPECTED[column]


def test_every_option_has_a_column() -> None:
    assert set(EXPECTED) == {"default", "all", *names()}


def test_default_findings_are_moai_adks_issues(tree: Path) -> None:
    report = scan(tree)
    assert report.mode == "moai-adk" and report.counts == {"error": 8, "warning": 20, "info": 1}
    dups = {f.message.split(" is in ")[0]: f.where for f in report.findings if "is in" in f.message}
    assert dups == {
        tag("DOC", "AUTH-001"): "README.md:3",  # README.md and README.ko.md
        tag("SPEC", "AUTH-001"): ".moai/specs/SPEC-PAY-001/spec.md:13",  # 5 places
        tag("CODE", "AUTH-001"): "build/lib/auth.py:1",  # 5 places, build/ included
        tag("TEST", "AUTH-001"): "tests/auth_checks.py:1",  # also cited in its spec.md
        tag("CODE", "CART-001"): "src/shop/cart.py:8",
        tag("CODE", "LEGACY-001"): "src/shop/legacy.py:1",  # twice on one line
        tag("SPEC", "DEMO-001"): ".claude/commands/sync.md:3",  # hidden folders count
        tag("CODE", "ADMIN-001"): "bin/shop-admin-linux:1",  # the binary is read
    }
    orphans = sorted((f.where, f.rule) for f in report.findings if "anywhere" in f.message)
    assert orphans == [
        (".moai/config.json:3", "code-without-test"),
        ("src/shop/ci.py:1", "code-without-test"),  # its TEST is in .github/ (not read)
        ("src/shop/legacy.py:1", "code-without-test"),
        ("src/shop/legacy.py:1", "code-without-test"),  # per place, repeats kept
        ("src/shop/templates/starter.py:1", "code-without-test"),
        ("tests/search_checks.py:1", "test-without-code"),
        ("tests/tools_checks.py:1", "test-without-code"),  # its CODE is in venv_tools.py
    ]


def test_moai_deploys_state_folder_is_never_read(tree: Path) -> None:
    before = scan(tree).to_dict()
    reports = tree / ".moai-deploy" / "reports"
    reports.mkdir(parents=True)
    (reports / "trace.json").write_text(json.dumps({"quoted": tag("CODE", "AUTH-001")}))
    after = scan(tree).to_dict()
    assert after["files_scanned"] == before["files_scanned"]
    assert after["findings"] == before["findings"]


def cli(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["trace", *args])
    return result.exit_code, result.output


def test_the_report_says_which_mode_ran(tree: Path) -> None:
    code, out = cli("--spec", str(tree))
    assert code == 1
    assert out.startswith("mode moai-adk: MoAI-ADK's validator rules; differences: none;")
    assert "25 file(s), 36 tag(s)" in out.splitlines()[0]
    assert out.rstrip().endswith("8 error(s), 20 warning(s), 1 info(s)")
    assert "by rule: chain-without-doc 1, code-without-spec 6, code-without-test 5," in out

    code, out = cli("--spec", str(tree), "--skip-hidden", "--per-id-orphans", "--json")
    data = json.loads(out)
    assert data["mode"] == "moai-adk+skip-hidden+per-id-orphans"
    assert data["options"]["skip_hidden"] and not data["options"]["exact_ignores"]
    assert data["by_category"] == {"duplicate": 7, "orphan": 5, "chain": 10, "spec": 0}
    assert data["by_rule"]["duplicate-tag"] == {"error": 7}

    code, out = cli("--spec", str(tree), "--all-differences", "--json")
    data = json.loads(out)
    assert data["mode"] == "moai-adk+" + "+".join(n.replace("_", "-") for n in names())
    assert (data["files_scanned"], data["tags_found"]) == EXPECTED["all"][:2]


def test_help_documents_every_option() -> None:
    code, out = cli("--help")
    assert code == 0
    flat = " ".join(out.split())
    for name in names():
        assert f"--{name.replace('_', '-')}" in flat
    assert "MoAI-ADK" in flat and "--all-differences" in flat


def test_symlinks_fifos_and_broken_links_as_moai_adk_reads_them(tmp_path: Path) -> None:
    """MoAI-ADK's `rglob` + `is_file` (checked by hand on this same layout with its
    validator: 3 files, 3 tags, a duplicate and two chain warnings): a symlinked file is
    read, a symlinked folder is not entered, a broken link and a FIFO are not files."""
    (tmp_path / "real").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "real" / "a.py").write_text(f"# {tag('CODE', 'LINK-001')}\n")
    (tmp_path / "outside" / "t.py").write_text(f"# {tag('TEST', 'LINK-001')}\n")
    (tmp_path / "real" / "b.py").symlink_to("a.py")
    (tmp_path / "linked").symlink_to("outside", target_is_directory=True)
    (tmp_path / "broken.py").symlink_to("nowhere.py")
    os.mkfifo(tmp_path / "pipe.py")
    report = scan(tmp_path)
    assert (report.files_scanned, report.tags_found) == (3, 3)
    assert sorted((f.where, f.rule) for f in report.findings) == [
        ("outside/t.py:1", "test-without-spec"),
        ("real/a.py:1", "code-without-spec"),
        ("real/b.py:1", "duplicate-tag"),
    ]


def test_lines_are_numbered_as_splitlines_numbers_them(tmp_path: Path) -> None:
    # MoAI-ADK numbers lines with str.splitlines: \r, \x0c, \x1c, \u2028 ... all end one
    # (its validator, run by hand on this file, put the tags on lines 5, 6 and 7 too).
    text = f"a\r\nb\rc\x0cd\u2028{tag('CODE', 'LINE-001')}\n{tag('CODE', 'LINE-001')}"
    (tmp_path / "odd.md").write_bytes(text.encode() + b"\xff\n" + tag("TEST", "X-001").encode())
    report = scan(tmp_path)
    assert report.chains["LINE-001"].to_dict()["code"] == ["odd.md:5", "odd.md:6"]
    assert report.chains["X-001"].to_dict()["test"] == ["odd.md:7"]  # \xff dropped


def test_gates_tags_takes_the_same_option_names() -> None:
    from moai_deploy.spec.gates import GatesSpec

    gates = GatesSpec.model_validate({"tags": {"skip_hidden": True, "frontmatter": True}})
    options = TraceOptions.from_settings(gates.tags)
    assert options == TraceOptions(skip_hidden=True, frontmatter=True)
    assert options.mode == "moai-adk+skip-hidden+frontmatter"
    assert set(names()) <= set(type(gates.tags).model_fields)
    with pytest.raises(ValueError, match="skip_hiden"):
        GatesSpec.model_validate({"tags": {"skip_hiden": True}})
