"""What people read: pauses with their reason and command, measurements, verdicts, and what
a promote skips (pure functions; the end-to-end tests read the same lines from a deploy)."""

from __future__ import annotations

import io

from rich.console import Console

from moai_deploy.cli.output import RichReporter, rollout_event_line
from moai_deploy.rollout.plan import Situation, Step, describe_promote, plan
from moai_deploy.spec.strategies import CanaryStrategy


def _plain(**events: dict[str, object]) -> str:
    out = io.StringIO()
    reporter = RichReporter(Console(file=out, force_terminal=False, width=200))
    for name, fields in events.items():
        reporter.event(name, **fields)
    return out.getvalue()


def test_pause_measurement_and_verdict_are_printed_in_plain_output() -> None:
    text = _plain(
        paused={
            "reason": "analysis inconclusive: sr inconclusive",
            "command": "moai-deploy promote demo",
        },
        measurement={
            "metric": "success-rate",
            "value": 0.62,
            "phase": "failed",
            "message": "0.62: not (result >= 0.95)",
        },
        verdict={
            "purpose": "background",
            "phase": "failed",
            "message": "success-rate failed (0.62)",
        },
        undone={"status": "aborted", "reason": "background analysis failed"},
    )
    assert "paused: analysis inconclusive: sr inconclusive" in text
    assert "continue: moai-deploy promote demo" in text
    assert "success-rate = 0.62 failed (0.62: not (result >= 0.95))" in text
    assert "analysis (background): failed success-rate failed (0.62)" in text
    assert "release aborted: background analysis failed; traffic is on stable" in text
    assert rollout_event_line("weights", {}) is None


def test_measurement_without_a_value_says_so() -> None:
    line = rollout_event_line(
        "measurement", {"metric": "m", "value": None, "phase": "inconclusive"}
    )
    assert line is not None and "m = no value" in line


def test_promote_says_what_it_skips_and_where_it_stops_next() -> None:
    canary = CanaryStrategy.model_validate(
        {
            "steps": [
                {"set_weight": 20},
                {"pause": {"duration": "60s"}},
                {"set_weight": 50},
                {"pause": {}},
                {"set_weight": 80},
            ]
        }
    )
    steps = plan(canary, Situation(1, True))
    first_pause = next(i for i, s in enumerate(steps) if s.kind == "pause")
    text = describe_promote(steps, first_pause, held=True, full=False)
    assert f"skips step {first_pause + 1} of {len(steps)} (pause 60s)" in text
    assert f"next stop: step {first_pause + 3} (pause until promoted)" in text
    last = describe_promote(steps, first_pause + 2, held=True, full=False)
    assert "no pause after it: the rollout goes on to 100%" in last
    ahead = describe_promote(steps, 0, held=False, full=False)  # promoted before the pause
    assert f"skips step {first_pause + 1}" in ahead
    assert "straight to 100%" in describe_promote(steps, 0, held=False, full=True)
    assert "no pause left" in describe_promote(
        [Step("set_weight", "x", weight=100)], 0, False, False
    )
