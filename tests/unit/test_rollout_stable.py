"""Which group a new release takes as stable: the live release's, while its instances live.

supervisord reports an instance STARTING for its first `startsecs` even when it already
serves, so a release begun within a second of the previous one (a fast machine, a quick
app) must still see the live version as stable; it used to go straight to 100 % as if
nothing ran (found by the analysis-fault e2e tests on an idle machine).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from moai_deploy.rollout.release import _stable
from moai_deploy.runtime.base import InstanceState, InstanceStatus


def _ctx(group: str | None, *states: InstanceState) -> Any:
    live = None if group is None else SimpleNamespace(meta={"group": group})
    instances = [
        InstanceStatus(f"hello-demo-blue-{n}", "hello", "demo", "1.0.0", "blue", "http://x", s)
        for n, s in enumerate(states)
    ]
    return SimpleNamespace(
        service="hello",
        environment="demo",
        ledger=SimpleNamespace(live_release=lambda service, environment: live),
        runtime=SimpleNamespace(list=lambda service, environment: instances),
    )


@pytest.mark.parametrize(
    ("states", "stable"),
    [
        ((InstanceState.RUNNING, InstanceState.RUNNING), "blue"),
        ((InstanceState.STARTING, InstanceState.STARTING), "blue"),
        ((InstanceState.CRASHED, InstanceState.STARTING), "blue"),
        ((InstanceState.CRASHED, InstanceState.STOPPED), None),
        ((InstanceState.STOPPING,), None),
        ((), None),
    ],
)
def test_live_group_is_stable_while_any_instance_lives(
    states: tuple[InstanceState, ...], stable: str | None
) -> None:
    assert _stable(_ctx("blue", *states))[1] == stable


def test_nothing_live_is_no_stable_group() -> None:
    assert _stable(_ctx(None, InstanceState.RUNNING)) == (None, None)
