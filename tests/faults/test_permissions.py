"""Nothing the tool writes is readable by other local users, checked as one (uid nobody)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project

from .conftest import ENV

pytestmark = pytest.mark.slow

NOBODY = 65534
PROBE = Path(__file__).with_name("probe.py")


def probe(wanted: dict[str, list[str]]) -> dict[str, list[str]]:
    """What uid `nobody` can read or reach (system Python: the venv is under /root)."""
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    argv += ["/usr/bin/python3", "-I", "-"]
    out = subprocess.run(
        [*argv, json.dumps(wanted)],
        input=PROBE.read_text(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, list[str]] = json.loads(out.stdout)
    return result


@contextmanager
def traversable(folders: list[Path]) -> Iterator[None]:
    """Let other users pass through (x, not r) these folders for the block, then restore."""
    before = {folder: stat.S_IMODE(folder.stat().st_mode) for folder in folders}
    try:
        for folder, mode in before.items():
            folder.chmod(mode | 0o001)
        yield
    finally:
        for folder, mode in before.items():
            folder.chmod(mode)


def _ancestors(path: Path, stop: Path) -> list[Path]:
    return [p for p in [path, *path.parents] if p == stop or stop in p.parents]


def test_state_files_are_private_to_the_owner(project: Project, project_dir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to uid nobody")
    operations.deploy(project, ENV, "v1")
    url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    for _ in range(5):
        httpx.get(url, timeout=5).raise_for_status()
    layout = project.layout
    # Instance logs per release (logs/ENV/release-N/), and moai-deploy's own action log.
    logs = [*sorted(layout.logs.rglob("*.log")), layout.logs / "moai-deploy.jsonl"]
    router = project.proxy_for(ENV).chosen.process  # Traefik or HAProxy: both keep these two logs
    traefik_files = [router.access_log, router.log_file]  # type: ignore[attr-defined]
    supervisor_log = layout.supervisor / "supervisord.log"
    ledger = [layout.ledger_db, layout.ledger_db.with_name("ledger.sqlite3-wal")]
    files = [*ledger, *logs, *traefik_files, supervisor_log]
    assert len(logs) > 1 and all(f.exists() for f in files), files

    assert stat.S_IMODE(layout.root.stat().st_mode) == 0o700
    modes = {str(f): stat.S_IMODE(f.stat().st_mode) for f in files}
    assert modes == {str(f): 0o600 for f in files}

    names = [str(f) for f in files]
    basetemp = project_dir.parent.parent
    # The tmp folders above the state folder let others pass: only our own modes protect.
    with traversable(_ancestors(project_dir, basetemp.parent)):
        assert probe({"files": names}) == {"read": [], "http": [], "unix": []}
        # Even with every folder of the state tree passable, each file is 0600 on its own.
        inner = {f.parent for f in files} | {layout.root}
        with traversable(sorted(inner)):
            assert probe({"files": names})["read"] == []
            # The probe itself works: a world-readable file in the same place is read.
            control = layout.root / "control.txt"
            control.write_text("x")
            control.chmod(0o644)
            assert probe({"files": [str(control)]})["read"] == [str(control)]
