"""Rendered artifacts match the reviewed golden files, and rendering is deterministic.

Regenerate the goldens after an intended change with
`MOAI_DEPLOY_UPDATE_GOLDEN=1 pytest tests/unit/test_render_golden.py` and review the diff.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from moai_deploy.render import TARGETS, render
from moai_deploy.render.artifacts import read_tree, write_files
from moai_deploy.spec.loader import load_spec

ROOT = Path(__file__).parents[2]
GOLDEN = ROOT / "tests" / "golden"
EXAMPLE = ROOT / "examples" / "hello-service" / "moai-deploy.yaml"
RICH = GOLDEN / "rich" / "moai-deploy.yaml"
VERSION = "1.4.0"
# (spec, environment, golden folder): together they cover every target at least once.
CASES = [
    (EXAMPLE, "production", GOLDEN / "hello" / "production"),
    (RICH, "development", GOLDEN / "rich" / "development"),
    (RICH, "staging", GOLDEN / "rich" / "staging"),
    (RICH, "production", GOLDEN / "rich" / "production"),
]


@pytest.mark.parametrize(
    ("spec_path", "environment", "folder"), CASES, ids=[f"{c[0].parent.name}-{c[1]}" for c in CASES]
)
def test_render_matches_golden(spec_path: Path, environment: str, folder: Path) -> None:
    files = render(load_spec(spec_path).spec, environment, VERSION)
    if os.environ.get("MOAI_DEPLOY_UPDATE_GOLDEN"):
        for stale in folder.rglob("*"):
            if stale.is_file():
                stale.unlink()
        write_files(folder, files)
    golden = read_tree(folder)
    assert sorted(files) == sorted(golden), "file set changed: regenerate and review goldens"
    for path, text in files.items():
        assert text == golden[path], f"{path} differs from its golden (see module docstring)"


def test_goldens_cover_every_target() -> None:
    covered = {path.split("/")[0] for _, _, folder in CASES for path in read_tree(folder)}
    assert covered == set(TARGETS)


_SNIPPET = """
import hashlib, json, sys
from pathlib import Path
from moai_deploy.render import render
from moai_deploy.spec.loader import load_spec
spec = load_spec(Path(sys.argv[1])).spec
out = {env: render(spec, env, "1.4.0") for env in spec.environments}
print(hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest())
"""


def test_rendering_is_byte_identical_across_processes_and_hash_seeds() -> None:
    digests = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _SNIPPET, str(RICH)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        digests.add(done.stdout.strip())
    spec = load_spec(RICH).spec
    here = {env: render(spec, env, VERSION) for env in spec.environments}
    digests.add(hashlib.sha256(json.dumps(here, sort_keys=True).encode()).hexdigest())
    assert len(digests) == 1


def test_only_the_version_changes_when_the_version_changes() -> None:
    spec = load_spec(EXAMPLE).spec
    first, second = render(spec, "staging", "aaa1111"), render(spec, "staging", "bbb2222")
    assert sorted(first) == sorted(second)
    for path in first:
        assert first[path].replace("aaa1111", "bbb2222") == second[path], path
    assert first["docker/Dockerfile"] == second["docker/Dockerfile"]  # one image, any version
