"""The live view renders steps, weights, per-version traffic and analysis verdicts."""

from __future__ import annotations

import io
import time

from rich.console import Console

from moai_deploy.cli.live import LiveReporter, ViewState, render


class Stats:
    def __init__(self, rate: float, success: float | None, p95: float | None) -> None:
        self.request_rate, self.success_rate, self._p95 = rate, success, p95

    def quantile(self, q: float) -> float | None:
        assert q == 0.95
        return self._p95


def _text(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=140, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_render_shows_weights_stats_and_verdicts() -> None:
    state = ViewState(
        steps=[("start", "succeeded", "green: 2 instances"), ("smoke", "failed", "GET / 500")],
        current=("pause", "pause 5s"),
        weights={"hello-prod-blue": 75, "hello-prod-green": 25},
        stats={"hello-prod-green": Stats(12.5, 0.7, 0.812), "hello-prod-blue": None},
        verdicts={"success-rate": {"value": 0.7, "phase": "failed", "message": "0.7 < 0.95"}},
    )
    text = _text(render(state))
    assert "hello-prod-green" in text and "25%" in text and "75%" in text
    assert "12.5" in text and "0.700" in text and "812" in text
    assert "success-rate" in text and "failed" in text and "0.7 < 0.95" in text
    assert "pause 5s" in text and "GET / 500" in text


def test_reporter_follows_events_and_samples_each_backend() -> None:
    sampled: list[str] = []

    def source(backend: str) -> Stats:
        sampled.append(backend)
        return Stats(3.0, 1.0, 0.01)

    out = Console(file=io.StringIO(), width=140, force_terminal=True)
    with LiveReporter(source, out) as live:
        live.step_started("set_weight", "canary at 50%")
        live.event("weights", weights={"a-blue": 50, "a-green": 50})
        live.event("measurement", metric="p95-latency", value=0.01, phase="successful")
        deadline = time.monotonic() + 5
        while not {"a-blue", "a-green"} <= set(sampled) and time.monotonic() < deadline:
            time.sleep(0.05)
        live.step_finished("set_weight", "succeeded", "50% to v2")
    assert {"a-blue", "a-green"} <= set(sampled)
    assert live.state.weights == {"a-blue": 50, "a-green": 50}
    assert live.state.verdicts["p95-latency"]["phase"] == "successful"
    assert live.state.steps == [("set_weight", "succeeded", "50% to v2")]
    assert live.state.stats["a-green"] is not None
