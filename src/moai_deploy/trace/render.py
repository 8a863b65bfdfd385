"""Rich rendering of trace reports, live SPECs and promotion diffs (for people)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from moai_deploy.trace.live import LiveView, SpecChange
from moai_deploy.trace.model import TAG_KINDS, Chain, Finding, SpecInfo, TraceReport

_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}
_CHANGE_STYLE = {"added": "green", "removed": "red", "changed": "yellow", "unchanged": "dim"}
_CHANGE_MARK = {"added": "+", "removed": "-", "changed": "~", "unchanged": "="}


def print_report(out: Console, report: TraceReport) -> None:
    """Each SPEC's chain with its locations, then the findings and a one-line verdict."""
    if not report.has_specs:
        out.print(f"[dim]no .moai/specs/SPEC-*/spec.md in {escape(str(report.project_dir))}[/]")
    specs = {s.id: s for s in report.specs}
    for chain in report.chains.values():
        _print_chain(out, chain, specs.get(chain.id))
    if report.findings:
        out.print()
    for finding in report.findings:
        _print_finding(out, finding)
    counts = report.counts
    tally = f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info(s)"
    mode = " (strict)" if report.strict else ""
    size = f"{len(report.specs)} SPEC(s), {len(report.chains)} chain(s)"
    if report.passed:
        out.print(f"[green]✓[/] trace passed{mode}: {size}; {tally}")
    else:
        out.print(f"[red]✗[/] trace failed{mode}: {size}; {tally}")


def _print_chain(out: Console, chain: Chain, spec: SpecInfo | None) -> None:
    if spec is not None:
        head = (
            f"[bold]{chain.id}[/]  v{spec.version or '?'}  {spec.status or '?'}  "
            f"{spec.priority or '?'}  [dim]{escape(spec.path.as_posix())}[/]"
        )
    else:
        head = f"[bold yellow]{chain.id}[/]  [yellow](no SPEC)[/]"
    out.print(head, soft_wrap=True)
    for kind in TAG_KINDS:
        places = chain.of(kind)
        shown = ", ".join(str(p) for p in places) if places else "[dim]-[/]"
        out.print(f"  {kind:<4}  {escape(shown) if places else shown}", soft_wrap=True)


def _print_finding(out: Console, finding: Finding) -> None:
    style = _SEVERITY_STYLE[finding.severity]
    out.print(
        f"  [{style}]{finding.severity:<7}[/] {escape(finding.where)}  "
        f"[dim]\\[{finding.rule}][/] {escape(finding.message)}",
        soft_wrap=True,
    )


def live_table(view: LiveView) -> Table:
    """The SPECs live in one environment: version, status, release, commit, live since."""
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
