"""Zero downtime, measured: releases under load, per strategy, vs a naive restart.

Run by hand: `python bench/zero_downtime.py [--rounds 3] [--concurrency 16]`;
`--runtime docker` measures the Docker runtime against `docker-compose up -d` instead
(bench/_docker.py).
Keep-alive clients load the example service through Traefik while releases happen:
blue-green, canary (25 -> 50 -> 100 %) and rolling (2 instances, surge 1), then the
baseline in the same run: stop every instance and start the new ones on the same ports
(what a restart script does). Per method, the median over the rounds of: failed requests
during the release, p99 during the release vs the steady state of the same round.
Last, a faulty canary (30 % errors at 20 % weight, aborted by analysis): its blast radius,
failed requests / all requests during the canary.
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
from typing import Any

from _scratch import ENVIRONMENT, edit_environment, reopen, url_of

from moai_deploy.cli.demo import find_example, prepare_workspace
from moai_deploy.errors import ReleaseFailedError
from moai_deploy.observe.load import LoadReport, start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.health import wait_ready
from moai_deploy.runtime.base import Artifact, ReleaseSource, WorkloadEnv, WorkloadSpec

STEADY = 2.0  # seconds of load before and after each release
STRATEGIES: dict[str, dict[str, Any]] = {
    "blue-green": {"type": "blue_green", "scale_down_delay": "1s"},
    "canary": {
        "type": "canary",
        "steps": [
            {"set_weight": 25},
            {"pause": {"duration": "1s"}},
            {"set_weight": 50},
            {"pause": {"duration": "1s"}},
        ],
    },
    "rolling": {"type": "rolling", "max_surge": 1, "max_unavailable": 0, "pre_stop_delay": "1s"},
}
FAULTY_CANARY = {
    "type": "canary",
    "steps": [{"set_weight": 20}, {"pause": {"duration": "30s"}}],
    "analysis": {"metrics": [{"template": "success-rate", "interval": "1s"}]},
}


@dataclass
class Round:
    failed: int
    total: int
    switch_p99_ms: float
    steady_p99_ms: float
    seconds: float


def measure(url: str, concurrency: int, release: Callable[[], None]) -> Round:
    """Load for STEADY s, run `release` under load, load for STEADY s more."""
    load = start_load_in_background(url, duration=300.0, concurrency=concurrency)
    time.sleep(STEADY)
    start = load.elapsed()
    release()
    end = load.elapsed() + 0.5
    time.sleep(STEADY)
    load.stop()
    report: LoadReport = load.result(timeout=30)
    steady = [s.latency for s in report.samples if s.start < start or s.start > end]
    steady_p99 = statistics.quantiles(steady, n=100)[98] if len(steady) > 100 else 0.0
    return Round(
        failed=report.failures_between(start, end),
        total=len(report.between(start, end)),
        switch_p99_ms=report.latency_percentile_between(start, end, 99) * 1000,
        steady_p99_ms=steady_p99 * 1000,
        seconds=end - start,
    )


def naive_restart(project: Project, version: str) -> None:
    """The baseline: stop every instance, start the new ones on the same ports."""
    runtime = project.runtime_for(ENVIRONMENT)
    old = runtime.list(project.service, ENVIRONMENT)
    live = project.ledger.live_release(project.service, ENVIRONMENT)
    assert live is not None and live.artifact
    source = ReleaseSource(project.service, version, Path(live.artifact))
    artifact = runtime.prepare(source, Artifact.from_meta(live.meta.get("artifact", {})))
    env = WorkloadEnv(plain=project.environment(ENVIRONMENT).env)
    specs = [
        WorkloadSpec(i.name, i.service, ENVIRONMENT, version, i.group, artifact, env, port=i.port)
        for i in old
    ]
    runtime.stop([i.name for i in old])
    runtime.start(specs)
    names = {s.name for s in specs}

    def current() -> list[Any]:
        return [i for i in runtime.list(project.service, ENVIRONMENT) if i.name in names]

    assert not wait_ready(current, project.loaded.spec.service.ready_path, timeout=60)


def summarize(name: str, rounds: list[Round]) -> None:
    failed = statistics.median(r.failed for r in rounds)
    total = statistics.median(r.total for r in rounds)
    switch = statistics.median(r.switch_p99_ms for r in rounds)
    steady = statistics.median(r.steady_p99_ms for r in rounds)
    took = statistics.median(r.seconds for r in rounds)
    print(
        f"{name:<24} failed {failed:>6.0f} of {total:>6.0f}   p99 during {switch:7.1f} ms   "
        f"steady {steady:7.1f} ms   ratio {switch / max(steady, 0.001):5.2f}   {took:5.1f} s"
    )


def _deploy(project_dir: Path, version: str) -> None:
    project = reopen(project_dir)
    try:
        operations.deploy(project, ENVIRONMENT, version)
    except ReleaseFailedError:
        pass  # the faulty canary is meant to be aborted
    finally:
        project.close()


def run_strategies(project_dir: Path, args: argparse.Namespace) -> dict[str, list[Round]]:
    results: dict[str, list[Round]] = {}
    counter = 0
    for name, strategy in STRATEGIES.items():
        edit_environment(project_dir, strategy=strategy)
        project = reopen(project_dir)
        url = url_of(project)
        for _ in range(args.rounds):
            counter += 1
            version = f"{name[:1]}{counter}"
            ours = measure(url, args.concurrency, lambda v=version: _deploy(project_dir, v))
            results.setdefault(name, []).append(ours)
            print(f"{name} round: failed {ours.failed}", file=sys.stderr)
            if name == "blue-green":  # the baseline, interleaved with ours in the same run
                naive = measure(
                    url, args.concurrency, lambda v=version, p=project: naive_restart(p, v + "r")
                )
                results.setdefault("naive restart", []).append(naive)
        project.close()
    return results


def blast_radius(project_dir: Path, concurrency: int) -> tuple[int, int]:
    edit_environment(project_dir, strategy=FAULTY_CANARY, env={"HELLO_ERROR_RATE": "0.3"})
    project = reopen(project_dir)
    url = url_of(project)
    project.close()
    load = start_load_in_background(url, duration=300.0, concurrency=concurrency)
    time.sleep(STEADY)
    start = load.elapsed()
    _deploy(project_dir, "faulty")
    end = load.elapsed()
    load.stop()
    report = load.result(timeout=30)
    edit_environment(project_dir, env={})
    return report.failures_between(start, end), len(report.between(start, end))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runtime", choices=["local", "docker"], default="local")
    args = parser.parse_args()
    if args.runtime == "docker":
        import _docker

        return _docker.run(args.rounds, args.concurrency)
    with tempfile.TemporaryDirectory(prefix="moai-bench-") as scratch:
        project_dir = prepare_workspace(find_example(None), Path(scratch))
        edit_environment(project_dir, replicas=2)
        project = reopen(project_dir)
        operations.deploy(project, ENVIRONMENT, "b0")
        try:
            results = run_strategies(project_dir, args)
            failed, total = blast_radius(project_dir, args.concurrency)
        finally:
            operations.down(project, ENVIRONMENT)
            project.close()
    print(f"\n{args.rounds} rounds each, {args.concurrency} keep-alive clients, medians:")
    for name, rounds in results.items():
        summarize(name, rounds)
    share = failed / total if total else 0.0
    print(
        f"faulty canary (30% errors at 20%, aborted by analysis): blast radius "
        f"{failed} of {total} requests = {share:.2%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
