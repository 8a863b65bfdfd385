"""A background analysis over a whole rollout: the engine starts it, polls it, stops it."""

from __future__ import annotations

import threading

from moai_deploy.analysis.base import AnalysisPhase, MeasureTarget, MetricProvider
from moai_deploy.analysis.run import AnalysisResult, AnalysisRunner, RunOptions
from moai_deploy.spec.analysis import AnalysisSpec


class BackgroundAnalysis:
    """Runs an analysis in a daemon thread; `verdict()` is terminal as soon as it decides."""

    def __init__(
        self,
        spec: AnalysisSpec,
        provider: MetricProvider,
        target: MeasureTarget,
        options: RunOptions | None = None,
    ) -> None:
        self._runner = AnalysisRunner(spec, provider, target, options)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._crash: str | None = None
        self._thread = threading.Thread(
            target=self._main, name=f"analysis-{target.canary}", daemon=True
        )

    def start(self) -> None:
        """Start measuring (once)."""
        self._thread.start()

    def verdict(self) -> AnalysisResult:
        """The verdict so far: RUNNING until the analysis decides (or is stopped)."""
        result = self._runner.result()
        if self._crash is not None:
            return AnalysisResult(AnalysisPhase.ERROR, result.metrics, self._crash)
        return result

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the analysis has ended (decided or stopped); False on timeout."""
        return self._done.wait(timeout)

    def stop(self, timeout: float = 30.0) -> AnalysisResult:
        """Stop measuring and return the final verdict (Argo: undecided metrics succeed)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return self.verdict()

    def _main(self) -> None:
        try:
            self._runner.run(self._stop)
        except Exception as exc:  # e.g. a listener raised: report it rather than hang RUNNING
            self._crash = f"analysis crashed: {exc!r}"
        finally:
            self._done.set()
