"""The rollout's analysis gateway over `moai_deploy.analysis`: each metric measured by its
own provider (chosen from the metric, see `analysis.registry`), judge samples from the
router's access log. No analysis error escapes: it is a verdict the engine acts on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from moai_deploy.analysis.background import BackgroundAnalysis as _Background
from moai_deploy.analysis.base import AnalysisPhase, MeasureTarget
from moai_deploy.analysis.registry import MetricsByProvider, ProviderSetup, check_metric
from moai_deploy.analysis.run import AnalysisResult, MeasurementResult, RunOptions, run_analysis
from moai_deploy.errors import SpecError, SpecProblem
from moai_deploy.rollout.gateway import (
    FAILED,
    INCONCLUSIVE,
    SUCCESSFUL,
    AnalysisTarget,
    AnalysisVerdict,
    BackgroundAnalysis,
    Listener,
)
from moai_deploy.spec.analysis import AnalysisSpec
from moai_deploy.spec.loader import LoadedSpec
from moai_deploy.spec.resolve import resolve_environment

_PHASES = {
    AnalysisPhase.SUCCESSFUL: SUCCESSFUL,
    AnalysisPhase.FAILED: FAILED,
    AnalysisPhase.ERROR: FAILED,  # a provider that cannot measure is not a pass
    AnalysisPhase.INCONCLUSIVE: INCONCLUSIVE,
}
_POLL = 0.05


def _verdict(result: AnalysisResult) -> AnalysisVerdict:
    phase = _PHASES.get(result.phase, SUCCESSFUL if result.stopped else FAILED)
    message = result.message
    if result.phase is AnalysisPhase.ERROR and "error" not in message:
        message = f"measurement errors: {message}" if message else "measurement errors"
    return AnalysisVerdict(phase, message)


class _Watch:
    """Adapts the analysis package's background run to the engine's protocol."""

    def __init__(self, background: _Background, provider: MetricsByProvider) -> None:
        self._background = background
        self._provider = provider

    def verdict(self) -> AnalysisVerdict | None:
        result = self._background.verdict()
        return None if result.phase is AnalysisPhase.RUNNING else _verdict(result)

    def stop(self) -> None:
        self._background.stop()
        self._provider.close()


class MetricsAnalysis:
    """Implements `rollout.gateway.AnalysisGateway`."""

    def __init__(self, setup: ProviderSetup) -> None:
        self._setup = setup

    def _prepare(
        self, spec: AnalysisSpec, listener: Listener
    ) -> tuple[MetricsByProvider, RunOptions]:
        provider = MetricsByProvider(self._setup, spec.resolved())
        samples = self._setup.samples() if spec.judge is not None else None

        def publish(result: MeasurementResult) -> None:
            listener(asdict(result))

        return provider, RunOptions(on_measurement=publish, samples=samples)

    def run(
        self,
        spec: AnalysisSpec,
        target: AnalysisTarget,
        interrupted: Callable[[], bool],
        listener: Listener,
    ) -> AnalysisVerdict:
        stop = threading.Event()
        box: list[AnalysisVerdict] = []
        provider, options = self._prepare(spec, listener)

        def work() -> None:
            try:
                measured = MeasureTarget(target.canary, target.stable)
                box.append(_verdict(run_analysis(spec, provider, measured, stop, options)))
            except Exception as exc:  # a bug in a listener or provider: a verdict, not a hang
                box.append(AnalysisVerdict(FAILED, f"analysis crashed: {exc!r}"))

        thread = threading.Thread(target=work, name="analysis-step", daemon=True)
        thread.start()
        try:
            while thread.is_alive():
                if interrupted():  # raises on abort; True on `promote --full`
                    stop.set()
                    thread.join(timeout=30)
                    return AnalysisVerdict(SUCCESSFUL, "skipped by promote --full")
                time.sleep(_POLL)
        finally:
            stop.set()
            provider.close()
        return box[0] if box else AnalysisVerdict(FAILED, "analysis ended without a verdict")

    def background(
        self, spec: AnalysisSpec, target: AnalysisTarget, listener: Listener
    ) -> BackgroundAnalysis:
        provider, options = self._prepare(spec, listener)
        watch = _Background(spec, provider, MeasureTarget(target.canary, target.stable), options)
        watch.start()
        return _Watch(watch, provider)


def analyses_of(strategy: object) -> list[tuple[str, AnalysisSpec]]:
    """Every analysis of a strategy, with its key path under `strategy`."""
    found: list[tuple[str, AnalysisSpec]] = []
    for key in ("analysis", "pre_promotion_analysis", "post_promotion_analysis"):
        spec = getattr(strategy, key, None)
        if isinstance(spec, AnalysisSpec):
            found.append((key, spec))
    for index, step in enumerate(getattr(strategy, "steps", ())):
        spec = getattr(step, "analysis", None)
        if isinstance(spec, AnalysisSpec):
            found.append((f"steps[{index}].analysis", spec))
    return found


def check_providers(loaded: LoadedSpec, environment: str) -> None:
    """Every metric's provider can measure (e.g. its Prometheus answers), else BadInputError
    (exit 2) naming the file, line and key, before any state is written."""
    spec = loaded.spec
    overlay = spec.environments[environment].strategy
    prefix = f"environments.{environment}.strategy" if overlay else "defaults.strategy"
    strategy = resolve_environment(spec, environment).strategy
    problems = []
    for path, analysis in analyses_of(strategy):
        for index, metric in enumerate(analysis.resolved()):
            why = check_metric(metric)
            if why is None:
                continue
            key = f"{prefix}.{path}.metrics[{index}].provider"
            address = getattr(metric.provider, "address", None)
            problems.append(
                SpecProblem(
                    loaded.path,
                    _line_of(loaded.path, address),
                    f"{key}.address" if address else f"{key}.type",
                    f"metric {metric.name!r}: {why}",
                    "start that Prometheus, or point `address` at one that answers "
                    "GET /-/ready (the address must be reachable from this machine)",
                )
            )
    if problems:
        raise SpecError(problems)


def _line_of(path: Path, text: str | None) -> int | None:
    if not text:
        return None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    return None
