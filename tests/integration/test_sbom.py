"""SBOMs from `pip freeze` text (the image path) with the real cyclonedx-py, and their diff."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from moai_deploy.errors import BadInputError
from moai_deploy.sbom import cyclonedx
from moai_deploy.sbom.store import diff_sboms, load_sbom, store_sbom

FREEZE_A = "fastapi==0.110.0\nstarlette==0.36.3\nPyYAML==6.0.1\n"
FREEZE_B = "fastapi==0.111.0\nPyYAML==6.0.1\nsix==1.17.0\n"


@pytest.fixture(scope="module")
def boms() -> tuple[dict[str, Any], dict[str, Any]]:
    return cyclonedx.from_freeze(FREEZE_A), cyclonedx.from_freeze(FREEZE_B)


def test_freeze_text_becomes_a_cyclonedx_sbom_and_diffs_by_package(
    boms: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    old, new = boms
    assert old["bomFormat"] == "CycloneDX"
    assert cyclonedx.packages(old) == {
        "fastapi": "0.110.0",
        "pyyaml": "6.0.1",
        "starlette": "0.36.3",
    }
    change = diff_sboms(old, new)
    assert change.added == {"six": "1.17.0"}
    assert change.removed == {"starlette": "0.36.3"}
    assert change.changed == {"fastapi": ("0.110.0", "0.111.0")}
    assert change.lines() == ["+ six 1.17.0", "- starlette 0.36.3", "~ fastapi 0.110.0 -> 0.111.0"]
    assert diff_sboms(new, new).empty


def test_sbom_is_reproducible(boms: tuple[dict[str, Any], dict[str, Any]]) -> None:
    assert cyclonedx.from_freeze(FREEZE_A) == boms[0]


def test_stored_sbom_round_trips_and_a_missing_one_is_bad_input(tmp_path: Path) -> None:
    bom = {"bomFormat": "CycloneDX", "components": [{"name": "six", "version": "1.17.0"}]}
    path = store_sbom(tmp_path, 7, bom)
    assert json.loads(path.read_text()) == bom
    assert path.stat().st_mode & 0o077 == 0
    assert load_sbom(tmp_path, 7) == bom
    with pytest.raises(BadInputError, match="release #8 has no stored SBOM"):
        load_sbom(tmp_path, 8)


def test_without_our_script_the_module_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # e.g. `pip install --user`: the package is importable, its script not on PATH.
    monkeypatch.setattr(cyclonedx, "find_tool", lambda name: None)
    assert cyclonedx.tool_argv() == [sys.executable, "-m", "cyclonedx_py"]
    assert cyclonedx.packages(cyclonedx.from_freeze(FREEZE_A))["fastapi"] == "0.110.0"


def test_without_the_package_it_is_provisioned_once_and_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cyclonedx, "find_tool", lambda name: None)
    monkeypatch.setattr(cyclonedx, "module_here", lambda: False)
    monkeypatch.setenv("MOAI_DEPLOY_CACHE", str(tmp_path / "cache"))
    started = time.monotonic()
    [tool] = cyclonedx.tool_argv()
    first = time.monotonic() - started
    assert Path(tool).is_relative_to(tmp_path / "cache" / "tools")
    assert cyclonedx.from_freeze(FREEZE_A) == cyclonedx.from_freeze(FREEZE_A)
    started = time.monotonic()
    assert cyclonedx.tool_argv() == [tool]  # the cached environment, not a second install
    again = time.monotonic() - started
    print(f"\nprovisioned cyclonedx-bom in {first:.1f} s, found again in {again:.3f} s")
    assert again < first


def test_unprovisionable_tool_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cyclonedx, "find_tool", lambda name: None)
    monkeypatch.setattr(cyclonedx, "module_here", lambda: False)
    monkeypatch.setenv("MOAI_DEPLOY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cyclonedx, "PINNED_VERSION", "999.0.0")
    with pytest.raises(cyclonedx.SbomError, match="pip install cyclonedx-bom"):
        cyclonedx.from_freeze(FREEZE_A)


def test_a_failing_tool_run_is_reported(tmp_path: Path) -> None:
    with pytest.raises(cyclonedx.SbomError, match="exited"):
        cyclonedx.from_python(tmp_path / "no-such-python")


def test_a_poetry_table_without_a_name_does_not_fail_the_sbom(tmp_path: Path) -> None:
    # Poetry 2 projects: PEP 621 [project] plus `[tool.poetry] package-mode = false`, which
    # cyclonedx-py reads first and fails on ("CDX > 'name'"): the SBOM goes without a root.
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "polls"\nversion = "0.3.5"\n\n[tool.poetry]\npackage-mode = false\n'
    )
    bom = cyclonedx.from_freeze(FREEZE_A, pyproject)
    assert cyclonedx.packages(bom)["fastapi"] == "0.110.0"
    named = tmp_path / "named" / "pyproject.toml"
    named.parent.mkdir()
    named.write_text('[project]\nname = "shop"\nversion = "1.0.0"\n')
    assert cyclonedx.from_freeze(FREEZE_A, named)["metadata"]["component"]["name"] == "shop"
