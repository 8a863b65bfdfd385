"""Exec wrapper that supervisord runs in front of every instance (stdlib only).

Usage: python -I launch.py SPEC_JSON ARGV...

Why it exists:
- supervisord's `environment=` parser (non-POSIX shlex, then strips quotes) cannot carry every
  value (both quote kinds, leading/trailing quotes), and children would also inherit the
  daemon's own environment. We `execvpe` with exactly the spec's env instead: same pid, so
  supervisord's signals and pid tracking are unaffected.
- supervisord only bounds crash loops that die within `startsecs`; a service that runs a few
  seconds and then dies would be restarted forever. We count spawns here and refuse to start
  once an instance was restarted `restart_limit` times within `restart_window` seconds; the
  quick refusal makes supervisord give up (FATAL), so the instance ends as CRASHED.

The file is copied into the state folder so confs keep working if the package moves.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

EXIT_GAVE_UP = 75  # EX_TEMPFAIL
EXIT_CANNOT_EXEC = 127


def _may_spawn(spec: dict[str, Any]) -> bool:
    """Record this spawn; False once the restart budget of the window is spent (sticky)."""
    path = Path(spec["spawn_log"])
    try:
        log: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        log = {"times": [], "gave_up": False}
    if not log.get("gave_up"):
        now = time.time()
        recent = [t for t in log.get("times", []) if now - t < float(spec["restart_window"])]
        if len(recent) > int(spec["restart_limit"]):  # first spawn + restart_limit restarts
            log["gave_up"] = True
        else:
            recent.append(now)
        log["times"] = recent
        path.write_text(json.dumps(log))
    return not log["gave_up"]


def _record_pid(path: Path) -> None:
    """Our pid and start time (exec keeps both): if supervisord dies, moai-deploy still
    finds this instance, and a reused pid never passes for it."""
    start = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{os.getpid()} {start}\n")
    os.replace(tmp, path)


def main(args: list[str]) -> int:
    """Exec args[1:] with the environment from the spec file args[0]; returns only on failure."""
    spec = json.loads(Path(args[0]).read_text())
    argv = args[1:]
    if not _may_spawn(spec):
        sys.stderr.write(
            f"moai-deploy: instance crashed {spec['restart_limit']} times within "
            f"{spec['restart_window']}s; not restarting it again\n"
        )
        return EXIT_GAVE_UP
    _record_pid(Path(spec["spawn_log"]).with_suffix(".pid"))
    try:
        os.execvpe(argv[0], argv, spec["env"])  # noqa: S606  # nosec B606 - argv list, no shell
    except OSError as err:
        sys.stderr.write(f"moai-deploy: cannot execute {argv[0]!r}: {err.strerror}\n")
    return EXIT_CANNOT_EXEC


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
