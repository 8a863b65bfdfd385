"""One analysis run on record: every measurement and the verdict go to the ledger (analysis
runs, measurements, the event log) and to the reporter, as they happen."""

from __future__ import annotations

from typing import Any

from moai_deploy.ledger.analysis_log import AnalysisLog, NewMeasurement
from moai_deploy.rollout.context import RolloutContext
from moai_deploy.rollout.gateway import AnalysisVerdict
from moai_deploy.spec.analysis import AnalysisSpec


class AnalysisRecord:
    """Opened when an analysis starts; `measurement` is its listener, `finish` its end."""

    def __init__(
        self, ctx: RolloutContext, release_id: int, purpose: str, spec: AnalysisSpec
    ) -> None:
        self._ctx = ctx
        self._log = AnalysisLog(ctx.ledger)
        self.purpose = purpose
        names = [m.name for m in spec.resolved()]
        self._run = self._log.start_run(release_id, purpose, names)
        self._finished = False
        ctx.reporter.event("analysis_started", purpose=purpose, metrics=names, run=self._run)

    def measurement(self, data: dict[str, Any]) -> None:
        """Record and show one judged measurement (called from the analysis thread)."""
        phase = str(data.get("phase", ""))
        self._log.record(
            self._run,
            NewMeasurement(
                metric=str(data["metric"]),
                phase=phase,
                value=data.get("value"),
                condition=str(data.get("condition", "")),
                reason=str(data.get("message", "")),
                at=float(data["at"]),
                samples=int(data.get("samples", 0)),
                stable_samples=int(data.get("stable_samples", 0)),
                dry_run=bool(data.get("dry_run", False)),
            ),
        )
        self._ctx.reporter.event("measurement", purpose=self.purpose, **data)

    def finish(self, verdict: AnalysisVerdict) -> None:
        """Close the run with its verdict (once)."""
        if self._finished:
            return
        self._finished = True
        self._log.finish_run(self._run, verdict.phase, verdict.message)
        self._ctx.reporter.event(
            "verdict", purpose=self.purpose, phase=verdict.phase, message=verdict.message
        )
