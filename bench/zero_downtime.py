"""Zero downtime, measured: blue-green switches under load vs a naive stop-then-start restart.

Run by hand: `python bench/zero_downtime.py [--switches 5] [--concurrency 16]`.
For each of N rounds, 16 keep-alive clients load the example service through Traefik while
(a) moai-deploy does a blue-green release, and (b) the baseline stops every instance and
starts the new ones on the same ports (what a restart script does). Prints, per method, the
median over the rounds of: failed requests during the switch, p99 during the switch, and
p99 in the steady state of the same round, plus the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from moai_deploy.build.pyenv import ensure_env
from moai_deploy.cli.demo import ENVIRONMENT, find_example, prepare_workspace
from moai_deploy.observe.load import LoadReport, start_load_in_background
from moai_deploy.paths import default_cache_dir
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.health import wait_ready
from moai_deploy.rollout.instances import GroupPlan, build_instances

STEADY = 2.0  # seconds of load before and after each switch


@dataclass
class Round:
    failed: int
    total: int
    switch_p99_ms: float
    steady_p99_ms: float
    switch_seconds: float


def measure(url: str, concurrency: int, switch: Callable[[], None]) -> Round:
    """Load for STEADY s, run `switch` under load, load for STEADY s more."""
    load = start_load_in_background(url, duration=120.0, concurrency=concurrency)
    time.sleep(STEADY)
    start = load.elapsed()
    switch()
    end = load.elapsed()
    time.sleep(STEADY)
    load.stop()
    report: LoadReport = load.result(timeout=30)
    steady = [s.latency for s in report.samples if s.start < start or s.start > end + 0.5]
    steady_p99 = statistics.quantiles(steady, n=100)[98] if len(steady) > 100 else 0.0
    return Round(
        failed=report.failures_between(start, end + 0.5),
        total=len(report.between(start, end + 0.5)),
        switch_p99_ms=report.latency_percentile_between(start, end + 0.5, 99) * 1000,
        steady_p99_ms=steady_p99 * 1000,
        switch_seconds=end - start,
    )


def naive_restart(project: Project, version: str) -> None:
    """The baseline: stop every instance, start the new ones on the same ports."""
    old = project.runtime.list(project.service, ENVIRONMENT)
    snapshot = project.ledger.live_release(project.service, ENVIRONMENT)
    assert snapshot is not None and snapshot.artifact
    config = project.environment(ENVIRONMENT)
    plan = GroupPlan(
        service=project.loaded.spec.service,
        environment=ENVIRONMENT,
        version=version,
        group=old[0].group,
        workdir=Path(snapshot.artifact),
        env=config.env,
        python_env=ensure_env(Path(snapshot.artifact), default_cache_dir()),
        log_dir=project.layout.logs,
    )
    project.runtime.stop([i.name for i in old])
    specs = build_instances(plan, sorted(i.port for i in old))
    project.runtime.start(specs)
    names = {s.name for s in specs}
    ready_path = project.loaded.spec.service.ready_path

    def current() -> list:  # type: ignore[type-arg]
        return [i for i in project.runtime.list(project.service, ENVIRONMENT) if i.name in names]

    failures = wait_ready(current, ready_path, timeout=60)
    assert not failures, failures


def summarize(name: str, rounds: list[Round]) -> dict[str, float]:
    row = {
        "failed": statistics.median(r.failed for r in rounds),
        "requests": statistics.median(r.total for r in rounds),
        "switch_p99_ms": statistics.median(r.switch_p99_ms for r in rounds),
        "steady_p99_ms": statistics.median(r.steady_p99_ms for r in rounds),
        "switch_s": statistics.median(r.switch_seconds for r in rounds),
    }
    print(
        f"{name:<22} failed/switch {row['failed']:>6.0f} of {row['requests']:>6.0f}   "
        f"p99 switch {row['switch_p99_ms']:7.1f} ms   p99 steady {row['steady_p99_ms']:7.1f} ms   "
        f"ratio {row['switch_p99_ms'] / max(row['steady_p99_ms'], 0.001):5.2f}   "
        f"switch took {row['switch_s']:.1f} s"
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--switches", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="moai-bench-") as scratch:
        project_dir = prepare_workspace(find_example(None), Path(scratch))
        project = Project.open(project_dir / "moai-deploy.yaml")
        try:
            operations.deploy(project, ENVIRONMENT, "b0")
            url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENVIRONMENT)}/"
            ours, naive = [], []
            for n in range(1, args.switches + 1):
                ours.append(measure(url, args.concurrency, lambda n=n: _deploy(project, f"b{n}")))
                naive.append(
                    measure(url, args.concurrency, lambda n=n: naive_restart(project, f"r{n}"))
                )
                print(f"round {n}: failed {ours[-1].failed} vs {naive[-1].failed}", file=sys.stderr)
            print(f"\n{args.switches} rounds, {args.concurrency} clients, median per switch:")
            mine = summarize("moai-deploy blue-green", ours)
            base = summarize("naive stop-then-start", naive)
            print(f"failed requests: blue-green {mine['failed']:.0f} vs naive {base['failed']:.0f}")
        finally:
            operations.down(project, ENVIRONMENT)
            project.close()
    return 0


def _deploy(project: Project, version: str) -> None:
    operations.deploy(project, ENVIRONMENT, version)


if __name__ == "__main__":
    sys.exit(main())
