"""`moai-deploy trace` against MoAI-ADK's own TAG validator on a MoAI-ADK tree, start-up
included: wall time per run, medians, the ratio, and both tools' counts by rule.

Run by hand on a checkout of MoAI-ADK (not part of this repository; e.g. `fetch` the
modu-ai/moai-adk snapshot and `git archive v0.22.0 | tar -x -C /tmp/moai-adk-v0.22.0`):

    python bench/trace.py /tmp/moai-adk-v0.22.0 [--runs 3] [--moai-python PY] [-- FLAGS]

MoAI-ADK's side runs `python -m moai_adk.core.tags.cli .` (its `validate-tags`, default
configuration, detailed report) from the tree's root with the tree's `src` on PYTHONPATH;
its package imports `requests`, so PY (default: this interpreter) needs it. Our side runs
the `moai-deploy` console script next to this interpreter: `moai-deploy trace` plus FLAGS.
Both print their full report to /dev/null; runs alternate so load hits both alike. A
warm-up run of each fills the page cache first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# MoAI-ADK's issue messages (validator.py, v0.22.0) -> moai-deploy's rule names.
MOAI_RULES = {
    "Duplicate TAG found": "duplicate-tag",
    "CODE TAG without corresponding TEST": "code-without-test",
    "TEST TAG without corresponding CODE": "test-without-code",
    "SPEC without CODE implementation": "spec-without-code",
    "CODE implementation without SPEC": "code-without-spec",
    "TEST without SPEC": "test-without-spec",
    "CODE implementation without TEST": "spec-code-without-test",
    "Complete implementation without documentation": "chain-without-doc",
}


def moai_command(python: str) -> list[str]:
    return [python, "-m", "moai_adk.core.tags.cli", "."]


def ours_command(flags: list[str]) -> list[str]:
    return [str(Path(sys.executable).parent / "moai-deploy"), "trace", *flags]


def moai_env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree / "src")}


def timed(argv: list[str], tree: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=tree, env=env, stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def moai_counts(tree: Path, python: str) -> tuple[int, int, Counter[str]]:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "report.json"
        argv = [*moai_command(python), "--format", "json", "--output", str(out)]
        subprocess.run(argv, cwd=tree, env=moai_env(tree), capture_output=True, check=False)
        data = json.loads(out.read_text())
    rules: Counter[str] = Counter()
    for issue in data["issues"]:
        rule = next(r for m, r in MOAI_RULES.items() if issue["message"].startswith(m))
        rules[rule] += 1
    stats = data["statistics"]
    return stats["total_files_scanned"], stats["total_tags_found"], rules


def our_counts(tree: Path, flags: list[str]) -> tuple[int, int, Counter[str]]:
    done = subprocess.run(
        [*ours_command(flags), "--json"], cwd=tree, capture_output=True, text=True, check=False
    )
    data = json.loads(done.stdout)
    rules = Counter({rule: sum(n.values()) for rule, n in data["by_rule"].items()})
    return data["files_scanned"], data["tags_found"], rules


def print_counts(tree: Path, python: str, flags: list[str]) -> bool:
    theirs, ours = moai_counts(tree, python), our_counts(tree, flags)
    label = " ".join(["moai-deploy trace", *flags])
    print(f"{'':24} {'MoAI-ADK':>10} {label:>{max(12, len(label))}}")
    rows = [("files", theirs[0], ours[0]), ("tags", theirs[1], ours[1])]
    rows += [(r, theirs[2][r], ours[2][r]) for r in sorted(set(theirs[2]) | set(ours[2]))]
    for name, a, b in rows:
        print(f"{name:24} {a:>10} {b:>{max(12, len(label))}}")
    return rows == [(n, a, a) for n, a, _ in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", type=Path, help="a MoAI-ADK checkout (its src/moai_adk)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--moai-python", default=sys.executable)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.flags = argv[cut + 1 :]  # flags for moai-deploy trace, after `--`
    tree: Path = args.tree.resolve()
    if not (tree / "src" / "moai_adk" / "core" / "tags" / "validator.py").is_file():
        parser.error(f"{tree} has no src/moai_adk/core/tags/validator.py")
    moai = moai_command(args.moai_python)
    ours = ours_command(args.flags)
    plain = dict(os.environ)
    timed(moai, tree, moai_env(tree)), timed(ours, tree, plain)  # warm-up
    theirs_s: list[float] = []
    ours_s: list[float] = []
    for _ in range(args.runs):
        theirs_s.append(timed(moai, tree, moai_env(tree)))
        ours_s.append(timed(ours, tree, plain))
    same = print_counts(tree, args.moai_python, args.flags)
    print()
    print(f"MoAI-ADK validator   runs {', '.join(f'{t:.3f}' for t in theirs_s)} s")
    print(f"moai-deploy trace    runs {', '.join(f'{t:.3f}' for t in ours_s)} s")
    base, mine = statistics.median(theirs_s), statistics.median(ours_s)
    print(f"median: MoAI-ADK {base:.3f} s, moai-deploy {mine:.3f} s; ratio {base / mine:.2f}x")
    print("counts: identical" if same else "counts: differ (see the table)")
    return 0 if same or args.flags else 1


if __name__ == "__main__":
    sys.exit(main())
