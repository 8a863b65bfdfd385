"""A local environment's SBOM is made once per what it describes: releases that share an
environment (same dependencies) reuse it; a changed package or pyproject makes a new one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from moai_deploy.runtime.base import Artifact
from moai_deploy.sbom import artifact as sbom_artifact


def _env(root: Path, *dists: str) -> Path:
    python = root / "env" / "bin" / "python"
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text("")
    site = root / "env" / "lib" / "python3.11" / "site-packages"
    for dist in dists:
        (site / f"{dist}.dist-info").mkdir(parents=True, exist_ok=True)
    return python


def test_releases_sharing_an_environment_share_its_sbom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Path] = []

    def from_python(python: Path, cache_dir: Path, pyproject: Path) -> dict[str, Any]:
        made.append(python)
        return {"bomFormat": "CycloneDX", "components": [{"name": f"n{len(made)}"}]}

    monkeypatch.setattr(sbom_artifact, "from_python", from_python)
    python = _env(tmp_path, "httpx-0.27.0")
    snapshot = tmp_path / "release"
    snapshot.mkdir()
    (snapshot / "pyproject.toml").write_text('[project]\nname = "hello"\nversion = "1"\n')
    art = Artifact("local", str(snapshot), snapshot, "built", {"python": str(python)})
    cache = tmp_path / "cache"

    def sbom() -> dict[str, Any]:
        return sbom_artifact.sbom_of_artifact(None, art, "hello", "demo", cache)  # type: ignore[arg-type]

    first = sbom()
    assert sbom() == first and len(made) == 1  # the second release: reused, not re-made
    _env(tmp_path, "httpx-0.27.0", "rich-13.0.0")  # a package more
    assert sbom() != first and len(made) == 2
    (snapshot / "pyproject.toml").write_text('[project]\nname = "hello"\nversion = "2"\n')
    sbom()
    assert len(made) == 3
