"""CLI start-up cost: CPU seconds (user + sys) of `moai-deploy --help`, `--version` and
`status`, next to `python -c pass` and `python -c "import typer"` measured in the same run.

    .venv/bin/python bench/cli_start.py [--runs 15]

Target (issue 9): each of the three commands costs <= 0.3 s of CPU. `status` runs on a
scratch git copy of the example service whose ledger already exists (the first `status`
creates it; that run is not counted). The order of the commands is shuffled in each round
so machine load spreads evenly over them.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hello-service"
TARGET_CPU_S = 0.3


def cpu_of(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of argv; its output is discarded."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{argv} exited {process.returncode}: {stderr}")
    return usage.ru_utime + usage.ru_stime, wall


def scratch_project(root: Path) -> Path:
    project = root / "hello"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".moai-deploy", "__pycache__"))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "v1"]):
        subprocess.run(
            ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", *args],
            cwd=project,
            check=True,
        )
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = sys.executable
    cli = str(Path(python).with_name("moai-deploy"))
    cases = {
        "python -c pass": [python, "-c", "pass"],
        "python -c 'import typer'": [python, "-c", "import typer"],
        "moai-deploy --help": [cli, "--help"],
        "moai-deploy --version": [cli, "--version"],
        "moai-deploy status": [cli, "status"],
    }
    with tempfile.TemporaryDirectory(prefix="moai-cli-start-") as tmp:
        project = scratch_project(Path(tmp))
        cpu_of(cases["moai-deploy status"], project)  # creates and migrates the ledger
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.runs):
            order = list(cases)
            random.shuffle(order)
            for name in order:
                samples[name].append(cpu_of(cases[name], project))
    report(samples, args.runs)


def report(samples: dict[str, list[tuple[float, float]]], runs: int) -> None:
    cpu = {name: statistics.median(s[0] for s in values) for name, values in samples.items()}
    wall = {name: statistics.median(s[1] for s in values) for name, values in samples.items()}
    baseline = cpu["python -c 'import typer'"]
    print(f"median of {runs} runs each, CPU = user + sys of the child process")
    print(f"{'command':28} {'CPU s':>7} {'wall s':>7} {'x import typer':>15}  target")
    for name in samples:
        verdict = ""
        if name.startswith("moai-deploy"):
            verdict = "ok" if cpu[name] <= TARGET_CPU_S else f"OVER {TARGET_CPU_S} s"
        ratio = cpu[name] / baseline if baseline > 0 else float("nan")
        print(f"{name:28} {cpu[name]:7.3f} {wall[name]:7.3f} {ratio:15.1f}  {verdict}")


if __name__ == "__main__":
    main()
