"""The rollout's analysis gateway over `moai_deploy.analysis`, with the right provider.

The router's own metrics by default (the provider `pipeline/project.py` picks); a metric
that names a Prometheus server is measured there. Judge samples come from the access log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict

from moai_deploy.analysis.background import BackgroundAnalysis as _Background
from moai_deploy.analysis.base import AnalysisPhase, MeasureTarget, MetricProvider
from moai_deploy.analysis.run import MeasurementResult, RunOptions, run_analysis
from moai_deploy.rollout.gateway import (
    FAILED,
    INCONCLUSIVE,
    SUCCESSFUL,
    AnalysisTarget,
    BackgroundAnalysis,
    Listener,
)
from moai_deploy.spec.analysis import AnalysisSpec

_PHASES = {
    AnalysisPhase.SUCCESSFUL: SUCCESSFUL,
    AnalysisPhase.FAILED: FAILED,
    AnalysisPhase.ERROR: FAILED,  # a provider that cannot measure is not a pass
    AnalysisPhase.INCONCLUSIVE: INCONCLUSIVE,
}


def _options(listener: Listener, samples: object | None) -> RunOptions:
    def publish(result: MeasurementResult) -> None:
        listener(asdict(result))

    return RunOptions(on_measurement=publish, samples=samples)  # type: ignore[arg-type]


class _Watch:
    """Adapts the analysis package's background run to the engine's protocol."""

    def __init__(self, background: _Background) -> None:
        self._background = background

    def verdict(self) -> str | None:
        phase = self._background.verdict().phase
        return _PHASES.get(phase)

    def stop(self) -> None:
        self._background.stop()


class MetricsAnalysis:
    """Implements `rollout.gateway.AnalysisGateway`."""

    def __init__(self, provider: Callable[[], MetricProvider], samples: object | None) -> None:
        self._provider = provider
        self._samples = samples

    def run(
        self,
        spec: AnalysisSpec,
        target: AnalysisTarget,
        interrupted: Callable[[], bool],
        listener: Listener,
    ) -> str:
        stop = threading.Event()
        result_box: list[str] = []

        def work() -> None:
            result = run_analysis(
                spec,
                self._provider(),
                MeasureTarget(target.canary, target.stable),
                stop,
                _options(listener, self._samples),
            )
            result_box.append(_PHASES.get(result.phase, SUCCESSFUL if result.stopped else FAILED))

        thread = threading.Thread(target=work, name="analysis-step", daemon=True)
        thread.start()
        try:
            while thread.is_alive():
                if interrupted():  # raises on abort; True on `promote --full`
                    stop.set()
                    thread.join()
                    return SUCCESSFUL
                time.sleep(0.05)
        finally:
            stop.set()
        return result_box[0] if result_box else FAILED

    def background(
        self, spec: AnalysisSpec, target: AnalysisTarget, listener: Listener
    ) -> BackgroundAnalysis:
        watch = _Background(
            spec,
            self._provider(),
            MeasureTarget(target.canary, target.stable),
            _options(listener, self._samples),
        )
        watch.start()
        return _Watch(watch)
