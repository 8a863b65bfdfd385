"""Failpoints: kill the deployer at a named point, so crash safety can be tested exactly.

Inert unless MOAI_DEPLOY_FAILPOINTS names points (comma-separated, e.g. "set_weight:2":
the second set_weight step of a release). The process SIGKILLs itself right after the
step is recorded as running, before it acts: the worst moment for a crash.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV_VAR = "MOAI_DEPLOY_FAILPOINTS"
_seen: Counter[str] = Counter()


def hit(kind: str) -> None:
    """Count one step of `kind`; die if this occurrence is named in the environment."""
    wanted = os.environ.get(ENV_VAR)
    if not wanted:
        return
    _seen[kind] += 1
    if f"{kind}:{_seen[kind]}" in {p.strip() for p in wanted.split(",")}:
        os.kill(os.getpid(), signal.SIGKILL)
