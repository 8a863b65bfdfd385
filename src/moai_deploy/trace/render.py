"""Rendering for people: trace reports (plain, or rich on a terminal), live SPECs and
promotion diffs (rich tables)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

from moai_deploy.trace.model import TAG_KINDS, Chain, Finding, SpecInfo, TraceReport

if TYPE_CHECKING:
    from rich.table import Table

    from moai_deploy.trace.live import LiveView, SpecChange

Segment = tuple[str, str]  # (text, rich style; "" for none)
Line = list[Segment]
_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}
_CHANGE_STYLE = {"added": "green", "removed": "red", "changed": "yellow", "unchanged": "dim"}
_CHANGE_MARK = {"added": "+", "removed": "-", "changed": "~", "unchanged": "="}


def print_report(report: TraceReport, out: TextIO | None = None) -> None:
    """The mode, each chain with its locations, the findings, counts by rule and a verdict.

    Plain text unless `out` is a terminal (then rich colours): a big tree has thousands
    of lines, and plain writing keeps them fast.
    """
    stream = out or sys.stdout
    lines = report_lines(report)
    if stream.isatty() and not os.environ.get("NO_COLOR"):
        from rich.console import Console
        from rich.text import Text

        console = Console(file=stream, soft_wrap=True, highlight=False)
        for line in lines:
            console.print(Text.assemble(*line))
    else:
        stream.write("".join("".join(text for text, _ in line) + "\n" for line in lines))


def report_lines(report: TraceReport) -> list[Line]:
    """The report as lines of styled segments (see `print_report`)."""
    lines: list[Line] = [_mode_line(report)]
    if not report.has_specs:
        lines.append([(f"no .moai/specs/SPEC-*/spec.md in {report.project_dir}", "dim")])
    specs = {s.id: s for s in report.specs}
    for chain in report.chains.values():
        lines.extend(_chain_lines(chain, specs.get(chain.id)))
    if report.findings:
        lines.append([])
    lines.extend(_finding_line(finding) for finding in report.findings)
    rules = report.by_rule()
    if rules:
        tally = ", ".join(f"{rule} {sum(n.values())}" for rule, n in rules.items())
        lines.append([("by rule: ", "dim"), (tally, "")])
    lines.append(_verdict(report))
    return lines


def _mode_line(report: TraceReport) -> Line:
    options = report.options.enabled
    differences = ", ".join(f"--{name}" for name in options) if options else "none"
    return [
        ("mode ", "dim"),
        (report.mode, "bold"),
        (f": MoAI-ADK's validator rules; differences: {differences}; ", "dim"),
        (f"{report.files_scanned} file(s), {report.tags_found} tag(s)", "dim"),
    ]


def _chain_lines(chain: Chain, spec: SpecInfo | None) -> list[Line]:
    if spec is not None:
        details = f"  v{spec.version or '?'}  {spec.status or '?'}  {spec.priority or '?'}  "
        head: Line = [(chain.id, "bold"), (details, ""), (spec.path.as_posix(), "dim")]
    elif chain.spec:
        head = [(chain.id, "bold")]
    else:
        head = [(chain.id, "bold yellow"), ("  (no SPEC)", "yellow")]
    lines = [head]
    for kind in TAG_KINDS:
        places = chain.of(kind)
        shown: Segment = (", ".join(map(str, places)), "") if places else ("-", "dim")
        lines.append([(f"  {kind:<4}  ", ""), shown])
    return lines


def _finding_line(finding: Finding) -> Line:
    return [
        (f"  {finding.severity:<7}", _SEVERITY_STYLE[finding.severity]),
        (f" {finding.where}  ", ""),
        (f"[{finding.rule}]", "dim"),
        (f" {finding.message}", ""),
    ]


def _verdict(report: TraceReport) -> Line:
    counts = report.counts
    tally = f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info(s)"
    mode = f" ({report.mode}{', strict' if report.strict else ''})"
    size = f"{len(report.specs)} SPEC(s), {len(report.chains)} chain(s)"
    if report.passed:
        return [("✓", "green"), (f" trace passed{mode}: {size}; {tally}", "")]
    return [("✗", "red"), (f" trace failed{mode}: {size}; {tally}", "")]


def live_table(view: LiveView) -> Table:
    """The SPECs live in one environment: version, status, release, commit, live since."""
    from rich.table import Table

    release = view.release
    if release is None:
        title = f"{view.environment}: nothing is live"
    else:
        commit = (release.commit_sha or "")[:7] or "no commit"
        title = f"{view.environment}: release #{release.id} {release.version} ({commit})"
    table = Table(title=title, title_justify="left")
    for column in ("SPEC", "version", "status", "release", "commit", "live since"):
        table.add_column(column, no_wrap=True)
    for spec in view.specs:
        since = spec.live_since.strftime("%Y-%m-%d %H:%M:%S") if spec.live_since else "?"
        table.add_row(
            spec.id,
            spec.version or "?",
            spec.status or "?",
            f"#{spec.release_id} {spec.release_version}",
            (spec.commit or "")[:7],
            since,
        )
    if release is not None and not view.recorded:
        table.caption = f"release #{release.id} recorded no SPECs (deployed before tracing?)"
    return table


def diff_table(source: LiveView, target: LiveView, changes: list[SpecChange]) -> Table:
    """What promoting source's live release into target would add, remove or change."""
    from rich.table import Table

    title = f"promote {_side(source)} -> {_side(target)}"
    table = Table(title=title, title_justify="left")
    for column in ("", "SPEC", "change", source.environment, target.environment):
        table.add_column(column, no_wrap=True)
    for change in changes:
        style = _CHANGE_STYLE[change.change]
        table.add_row(
            f"[{style}]{_CHANGE_MARK[change.change]}[/]",
            change.id,
            f"[{style}]{change.change}[/]",
            _version(change.source),
            _version(change.target),
        )
    if not changes:
        table.caption = "neither environment carries a recorded SPEC"
    return table


def _side(view: LiveView) -> str:
    release = view.release
    return f"{view.environment} (#{release.id} {release.version})" if release else view.environment


def _version(entry: dict[str, object] | None) -> str:
    if entry is None:
        return "-"
    return f"{entry.get('version') or '?'} {entry.get('status') or '?'}"
