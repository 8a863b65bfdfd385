"""`logs --follow` on a runtime that streams (Docker): every instance's lines, one reader
each, and instances that start later are taken on."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from moai_deploy.cli.logs import follow_instances
from moai_deploy.runtime.base import InstanceState, InstanceStatus


def _status(name: str, version: str) -> InstanceStatus:
    url = "http://127.0.0.1:1"
    return InstanceStatus(name, "hello", "production", version, "blue", url, InstanceState.RUNNING)


def test_new_instances_are_followed_and_each_line_is_shown_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    v1, v2 = _status("hello-production-blue-0", "v1"), _status("hello-production-green-0", "v2")
    polls = [[v1], [v1], [v1, v2], [v1, v2], [v1, v2]]
    asked: list[tuple[str, int]] = []

    def running() -> list[InstanceStatus]:
        if not polls:
            time.sleep(0.2)  # let the readers print
            raise KeyboardInterrupt  # the user's Ctrl-C
        return polls.pop(0)

    def stream(name: str, lines: int) -> Iterator[str]:
        asked.append((name, lines))
        yield from (f"{name} line {i}" for i in range(3))

    follow_instances(running, stream, None, 5, poll=0.01)

    out = capsys.readouterr().out.splitlines()
    assert asked == [("hello-production-blue-0", 5), ("hello-production-green-0", 5)]
    assert sorted(out) == sorted(
        [f"{s.name} {s.version} | {s.name} line {i}" for s in (v1, v2) for i in range(3)]
    )


def test_one_instance_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _status("a", "v1"), _status("b", "v1")
    polls = [[a, b]]

    def running() -> list[InstanceStatus]:
        if not polls:
            time.sleep(0.2)
            raise KeyboardInterrupt
        return polls.pop(0)

    follow_instances(running, lambda name, _n: iter([f"from {name}"]), "b", 0, poll=0.01)
    assert capsys.readouterr().out.splitlines() == ["b v1 | from b"]
