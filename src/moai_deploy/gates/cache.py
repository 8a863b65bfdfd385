"""Gate results cached by the hash of their inputs, under the state folder's gates-cache/.

An entry is a folder named by the key holding `result.json` and the tool's raw reports,
so a cached result's report path stays valid. Results with status `error` are never
cached: a missing tool or an unreachable service may be fixed without any input changing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from moai_deploy.gates.model import GateResult, GateStatus


class GateCache:
    """Results by gate and input key; writes are atomic (a folder renamed into place)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def entry(self, gate: str, key: str) -> Path:
        return self.root / gate / key

    def get(self, gate: str, key: str) -> GateResult | None:
        """The cached result, marked `cached`, or None."""
        path = self.entry(gate, key) / "result.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return GateResult.from_dict(data).with_(cached=True)

    def work_dir(self, gate: str) -> Path:
        """A fresh private folder for one run's raw reports."""
        folder = self.root / gate
        folder.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".run-", dir=folder))

    def put(self, gate: str, key: str, work_dir: Path, result: GateResult) -> GateResult:
        """Keep the result with its raw reports; returns it with report paths moved."""
        final = self.entry(gate, key)
        if result.status == GateStatus.ERROR:
            return result
        moved = result
        if result.report_path and Path(result.report_path).parent == work_dir:
            moved = result.with_(report_path=str(final / Path(result.report_path).name))
        (work_dir / "result.json").write_text(json.dumps(moved.to_dict(), indent=2))
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(work_dir, final)
        except OSError:  # another run stored the same key first: theirs is as good
            shutil.rmtree(work_dir, ignore_errors=True)
        return moved
