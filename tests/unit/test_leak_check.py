"""The session's leak check finds a process left running under the temp folder, and only it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from ..leaks import find_leaks, wait_for_no_leaks


def test_a_process_running_in_the_temp_folder_is_a_leak_until_it_ends(tmp_path: Path) -> None:
    workdir = tmp_path / "state"
    workdir.mkdir()
    other = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=workdir)
    try:
        cwd = Path(f"/proc/{proc.pid}/cwd")  # the parent's until the child's chdir (load)
        deadline = time.monotonic() + 30
        while cwd.resolve() != workdir.resolve() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [leak.pid for leak in find_leaks(tmp_path)] == [proc.pid]
        assert find_leaks(other) == []  # a sibling folder with a common prefix is not inside
    finally:
        proc.kill()
        proc.wait()
    assert wait_for_no_leaks(tmp_path, 5.0) == []


def test_a_command_line_naming_the_folder_is_a_leak(tmp_path: Path) -> None:
    marker = tmp_path / "traefik.yml"
    code = "import sys, time; time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code, str(marker)], cwd="/")
    try:
        # Until the child has exec'd, /proc shows the parent's command line (seen under load).
        cmdline = Path(f"/proc/{proc.pid}/cmdline")
        deadline = time.monotonic() + 30
        while str(marker).encode() not in cmdline.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.pid in {leak.pid for leak in find_leaks(tmp_path)}
    finally:
        proc.kill()
        proc.wait()
