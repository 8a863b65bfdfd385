"""Figures from a load run around a fault: failures, 404s, time until served again."""

from __future__ import annotations

from dataclasses import dataclass

from moai_deploy.observe.load import LoadReport


@dataclass(frozen=True)
class FaultFigures:
    total: int
    failed: int
    not_found_after: int  # 404s answered after the fault
    served_again_after: float  # seconds from the fault to the first success started after it

    def describe(self, what: str) -> str:
        return (
            f"{what}: {self.failed} of {self.total} requests failed, "
            f"{self.not_found_after} 404s after the fault, served again after "
            f"{self.served_again_after:.3f}s"
        )


def figures(report: LoadReport, fault_at: float) -> FaultFigures:
    """`fault_at`: seconds since the load began (LoadHandle.elapsed() at the fault)."""
    after = [s for s in report.samples if s.start >= fault_at]
    ok_after = [s for s in after if not s.failed]
    served_again = min((s.start + s.latency for s in ok_after), default=float("inf")) - fault_at
    return FaultFigures(
        total=report.total,
        failed=report.failed,
        not_found_after=sum(1 for s in after if s.status == 404),
        served_again_after=max(served_again, 0.0),
    )
