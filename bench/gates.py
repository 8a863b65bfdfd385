"""Quality gates: parallel vs sequential wall time, and a cached re-run vs a cold run.

Runs every gate on a scratch copy of tests/fixtures/faulty_project (real tools, real
files) and prints the median of several runs of each kind, all in one invocation:

    .venv/bin/python bench/gates.py [--runs 3]

Targets (issue 4): parallel <= 0.7x sequential; cached re-run <= 10% of a cold run.
A cold run also removes the tools' own caches (.mypy_cache, .ruff_cache) so it is cold.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from moai_deploy.gates.runner import RunOptions, run_gates
from moai_deploy.paths import StateLayout
from moai_deploy.spec.loader import load_spec

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "faulty_project"
TOOL_CACHES = (".mypy_cache", ".ruff_cache", ".pytest_cache")


def materialize(dest: Path) -> Path:
    spec = importlib.util.spec_from_file_location("faulty_materialize", FIXTURE / "materialize.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {FIXTURE / 'materialize.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result: Path = module.materialize(dest)
    return result


def timed(project: Path, layout: StateLayout, *, jobs: int | None, cached: bool) -> float:
    if not cached:
        for name in TOOL_CACHES:
            shutil.rmtree(project / name, ignore_errors=True)
    gates = load_spec(project / "moai-deploy.yaml").spec.gates
    start = time.perf_counter()
    run = run_gates(project, gates, layout, RunOptions(use_cache=cached, jobs=jobs))
    took = time.perf_counter() - start
    statuses = {o.result.gate: o.result.status.value for o in run.outcomes}
    if cached and not all(o.result.cached for o in run.outcomes if o.result.status != "error"):
        raise SystemExit(f"expected every result from the cache: {statuses}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="moai-gates-bench-") as scratch:
        project = materialize(Path(scratch) / "faulty")
        layout = StateLayout(Path(scratch) / "state")
        cores = os.cpu_count() or 1
        sequential = [timed(project, layout, jobs=1, cached=False) for _ in range(args.runs)]
        parallel = [timed(project, layout, jobs=cores, cached=False) for _ in range(args.runs)]
        cached = [timed(project, layout, jobs=cores, cached=True) for _ in range(args.runs * 2)]
    seq, par, hit = (statistics.median(x) for x in (sequential, parallel, cached))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"gates on the faulty fixture, {cores} core(s), medians of {args.runs} cold runs")
    print(f"  load average at the end {load} (other work on the machine skews the ratio)")
    print(f"  sequential (1 job)      {seq:7.2f} s   runs: {_list(sequential)}")
    print(f"  parallel ({cores} jobs)       {par:7.2f} s   runs: {_list(parallel)}")
    print(f"  cached re-run           {hit:7.2f} s   runs: {_list(cached)}")
    print(f"  parallel / sequential   {par / seq:7.2f}x  (target <= 0.70)")
    print(f"  cached / cold parallel  {hit / par:7.1%}   (target <= 10%)")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
