"""Which files a gate reads, the cache key over their contents, and the result cache."""

from __future__ import annotations

from pathlib import Path

from moai_deploy.gates.cache import GateCache
from moai_deploy.gates.inputs import ContentHasher, select, under, walk_project
from moai_deploy.gates.model import Finding, GateResult, GateStatus


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_walk_skips_tool_and_state_folders_but_keeps_moai_specs(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "src/app.py": "",
            "tests/test_app.py": "",
            ".moai/specs/SPEC-A-001/spec.md": "",
            ".venv/lib/x.py": "",
            ".git/HEAD": "",
            "pkg/__pycache__/m.pyc": "",
            ".moai-deploy/ledger.sqlite3": "",
            "elsewhere/state/x": "",
            ".secrets.baseline": "",
        },
    )
    files = walk_project(tmp_path, skip=[tmp_path / "elsewhere" / "state"])
    assert files == (
        ".moai/specs/SPEC-A-001/spec.md",
        ".secrets.baseline",
        "src/app.py",
        "tests/test_app.py",
    )
    assert select(files, ["*.py"], exclude=["tests/**"]) == ("src/app.py",)
    assert select(files, [".moai/specs/**"]) == (".moai/specs/SPEC-A-001/spec.md",)
    assert under(files, ["src"]) == ("src/app.py",)
    assert under(files, ["."]) == files


def test_key_changes_with_content_options_and_version_only(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 2\n"})
    key = ContentHasher(tmp_path).key(["ruff", "{}", "0.5"], ["a.py", "b.py"])
    assert ContentHasher(tmp_path).key(["ruff", "{}", "0.5"], ["a.py", "b.py"]) == key
    assert ContentHasher(tmp_path).key(["ruff", "{}", "0.6"], ["a.py", "b.py"]) != key
    assert ContentHasher(tmp_path).key(["ruff", '{"x":1}', "0.5"], ["a.py", "b.py"]) != key
    (tmp_path / "b.py").write_text("y = 3\n")
    assert ContentHasher(tmp_path).key(["ruff", "{}", "0.5"], ["a.py", "b.py"]) != key


def test_cache_keeps_results_with_their_raw_report_but_never_errors(tmp_path: Path) -> None:
    cache = GateCache(tmp_path / "gates-cache")
    work = cache.work_dir("ruff")
    (work / "ruff.json").write_text("[]")
    finding = Finding("a.py", 3, "F401", "unused", column=8)
    result = GateResult("ruff", GateStatus.FAILED, (finding,), 1.5, str(work / "ruff.json"))
    stored = cache.put("ruff", "k1", work, result)
    assert not work.exists()
    assert stored.report_path == str(tmp_path / "gates-cache" / "ruff" / "k1" / "ruff.json")
    assert Path(stored.report_path).read_text() == "[]"
    hit = cache.get("ruff", "k1")
    assert hit is not None and hit.cached and hit.findings == (finding,)
    assert cache.get("ruff", "other") is None

    work = cache.work_dir("pip_audit")
    cache.put("pip_audit", "k2", work, GateResult("pip_audit", GateStatus.ERROR, note="offline"))
    assert cache.get("pip_audit", "k2") is None  # the service may answer next time


def test_files_named_in_settings_are_found_inside_the_project_only(tmp_path: Path) -> None:
    from moai_deploy.gates.inputs import named_files

    _tree(tmp_path / "p", {".config/ruff.toml": "", "baseline.json": "", "a.py": ""})
    (tmp_path / "outside.toml").write_text("")
    root = (tmp_path / "p").resolve()
    values = ["--config", ".config/ruff.toml", "--baseline=baseline.json", "-q", "missing.toml",
              "../outside.toml", ".config", "a.py"]  # fmt: skip
    assert named_files(root, values) == (".config/ruff.toml", "a.py", "baseline.json")
