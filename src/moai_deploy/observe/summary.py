"""Printing a load report for people: totals, latency and which versions served when."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from moai_deploy.observe.load import LoadReport


def render_summary(report: LoadReport, console: Console, title: str = "Load") -> None:
    """Print totals, latency and which versions served when, as rich tables."""
    totals = Table(title=title, show_header=True)
    for column in ("requests", "failed", "ok", "p50 ms", "p99 ms", "req/s"):
        totals.add_column(column, justify="right")
    summary = report.to_dict()
    counts = (str(summary[key]) for key in ("requests", "failed", "ok"))
    rates = (f"{summary['p50_ms']:.1f}", f"{summary['p99_ms']:.1f}", f"{summary['rps']:.0f}")
    totals.add_row(*counts, *rates)
    console.print(totals)
    console.print(_timeline_table(report))


def _timeline_table(report: LoadReport) -> Table:
    versions = sorted({v for _, counts in report.versions_timeline() for v in counts})
    table = Table(title="Versions served over time", show_header=True)
    table.add_column("seconds", justify="left")
    for version in versions:
        table.add_column(version, justify="right")
    table.add_column("failed", justify="right")
    for t0, t1, counts, failed in _segments(report):
        table.add_row(f"{t0:.0f}-{t1:.0f}", *(str(counts.get(v, 0)) for v in versions), str(failed))
    return table


def _segments(report: LoadReport) -> list[tuple[float, float, Counter[str], int]]:
    """Consecutive seconds merged into one row while the versions served stay the same.

    A second with failures never merges with one without, so a switch's errors stand out.
    """
    failed = Counter(int(s.start) for s in report.samples if s.failed)
    rows: list[tuple[float, float, Counter[str], int]] = []
    for t0, counts in report.versions_timeline(1.0):
        n = failed[int(t0)]
        if rows and set(rows[-1][2]) == set(counts) and (rows[-1][3] > 0) == (n > 0):
            start, _, served, total = rows[-1]
            rows[-1] = (start, t0 + 1.0, served + Counter(counts), total + n)
        else:
            rows.append((t0, t0 + 1.0, Counter(counts), n))
    return rows
