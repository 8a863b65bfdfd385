"""Validate rendered files with the real validators (dev tools: hadolint, actionlint,
check-jsonschema, kubernetes-validate, cfn-lint; promtool from Debian's prometheus; the
published Grafana and Prometheus Operator types through tsc, see `_node.py`) plus the
in-process checks.

Each validator runs once per batch of files (cfn-lint and kubernetes-validate start slowly);
findings are attributed to files by the path each output line names.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from moai_deploy.errors import BadInputError
from moai_deploy.render import _checks, _node

KUBERNETES_VERSION = "1.32.0"
Problems = _checks.Problems
TOOL_TIMEOUT = 300


def tool(name: str) -> str:
    """A validator's executable: beside this Python (the virtualenv) or on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise BadInputError(
            f"validator {name!r} is not installed\n    fix: pip install the dev extras"
        )
    return found


def _run(argv: list[str], paths: list[Path], per_file: bool = False) -> Problems:
    if not paths:
        return {}
    if per_file:
        merged: Problems = {}
        for path in paths:
            merged.update(_run(argv, [path]))
        return merged
    done = subprocess.run(
        [*argv, *map(str, paths)], capture_output=True, text=True, check=False, timeout=TOOL_TIMEOUT
    )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    problems: Problems = {str(p): [line for line in lines if str(p) in line] for p in paths}
    if done.returncode != 0 and not any(problems.values()):
        # Nothing names a file: the whole batch failed (e.g. a crash); blame every file.
        problems = {str(p): lines or [f"exit {done.returncode}"] for p in paths}
    return problems


def hadolint(paths: list[Path]) -> Problems:
    """Dockerfiles, hadolint's default rules."""
    return _run([tool("hadolint"), "--no-color"], paths, per_file=True)


def schema(builtin: str) -> Callable[[list[Path]], Problems]:
    """check-jsonschema with one of its vendored schemas (compose-spec, github-workflows, ...)."""

    def check(paths: list[Path]) -> Problems:
        found = _run([tool("check-jsonschema"), "--builtin-schema", f"vendor.{builtin}"], paths)
        return {path: [m for m in msgs if "::" in m] or msgs for path, msgs in found.items()}

    return check


def actionlint(paths: list[Path]) -> Problems:
    """GitHub workflows, with shellcheck on every `run:` when shellcheck is installed."""
    argv = [tool("actionlint"), "-no-color"]
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if shellcheck.exists():
        argv += ["-shellcheck", str(shellcheck)]
    problems: Problems = {}
    for path in paths:
        done = subprocess.run(
            [*argv, str(path)], capture_output=True, text=True, check=False, timeout=TOOL_TIMEOUT
        )
        problems[str(path)] = [line for line in done.stdout.splitlines() if ": " in line]
        if done.returncode != 0 and not problems[str(path)]:
            problems[str(path)] = [done.stderr.strip() or f"exit {done.returncode}"]
    return problems


def kubernetes(paths: list[Path]) -> Problems:
    """Kubernetes objects against the pinned API version's schemas, unknown fields rejected."""
    argv = [tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION]
    return _run(argv, paths)


def cfn_lint(paths: list[Path]) -> Problems:
    """CloudFormation templates, cfn-lint's default rules."""
    return _run([tool("cfn-lint"), "--format", "parseable", "--"], paths)


def promtool(paths: list[Path]) -> Problems:
    """Prometheus rule files: `promtool check rules` (syntax, PromQL, templates)."""
    problems: Problems = {}
    for path in paths:
        done = subprocess.run(
            [tool("promtool"), "check", "rules", str(path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=TOOL_TIMEOUT,
        )
        lines = [ln.strip() for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
        problems[str(path)] = [] if done.returncode == 0 else lines or [f"exit {done.returncode}"]
    return problems


def operator_rules(paths: list[Path]) -> Problems:
    """The rule groups inside PrometheusRule objects, through promtool."""
    problems: Problems = {}
    with tempfile.TemporaryDirectory() as tmp:
        for index, path in enumerate(paths):
            doc = yaml.safe_load(path.read_text())
            groups = doc.get("spec", {}).get("groups") if isinstance(doc, dict) else None
            rules = Path(tmp) / f"rules-{index}.yaml"
            rules.write_text(yaml.safe_dump({"groups": groups or []}))
            problems[str(path)] = promtool([rules])[str(rules)]
    return problems


def _kind_of(path: Path) -> str:
    try:
        head = path.read_text()
    except UnicodeDecodeError:
        return ""
    for kind in ("Rollout", "AnalysisTemplate", "ExternalSecret"):
        if f"\nkind: {kind}\n" in f"\n{head}":
            return kind
    return ""


def validate_tree(root: Path, schemas_dir: Path) -> Problems:
    """Every rendered file under `root` with the validator of its target."""
    return validate_trees([root], schemas_dir)


def validate_trees(roots: list[Path], schemas_dir: Path) -> Problems:
    """Every file under each root (a `moai-deploy render` output), one batch per validator."""
    files = [(root, p) for root in roots for p in sorted(root.rglob("*")) if p.is_file()]

    def under(prefix: str, suffixes: Iterable[str] = (".yaml", ".yml")) -> list[Path]:
        return [
            p
            for root, p in files
            if p.relative_to(root).parts[0] == prefix and p.suffix in suffixes
        ]

    argo = under("argo-rollouts")
    crds = [p for p in argo if _kind_of(p) in _checks.CRD_FILES]
    k8s = [p for p in under("kubernetes") if _kind_of(p) != "ExternalSecret"]
    externals = [p for p in under("kubernetes") if _kind_of(p) == "ExternalSecret"]
    workflows = under("github-actions")
    problems: Problems = {}
    problems.update(hadolint([p for _, p in files if p.name == "Dockerfile"]))
    problems.update(schema("compose-spec")(under("compose")))
    problems.update(kubernetes(k8s + [p for p in argo if p not in crds]))
    problems.update(_checks.check_external_secret(externals))
    problems.update(_checks.check_argo(crds, schemas_dir))
    problems.update(_checks.check_task_definition(under("ecs", (".json",))))
    problems.update(cfn_lint(under("ecs")))
    problems.update(_checks.check_knative(under("cloudrun")))
    problems.update(_checks.check_hcl(under("cloudrun", (".tf",))))
    problems.update(_checks.check_arm(under("aci", (".json",))))
    problems.update(_merge(schema("github-workflows")(workflows), actionlint(workflows)))
    problems.update(schema("gitlab-ci")(under("gitlab-ci")))
    problems.update(promtool(under("prometheus-rules")))
    operator = under("prometheus-rule")
    typed = _node.typecheck(operator + under("grafana-dashboard", (".json",)))
    problems.update(_merge(typed, operator_rules([p for p in operator if _is_rule(p)])))
    return problems


def _is_rule(path: Path) -> bool:
    return "\nkind: PrometheusRule\n" in f"\n{path.read_text()}"


def _merge(first: Problems, second: Problems) -> Problems:
    return {key: first.get(key, []) + second.get(key, []) for key in sorted({*first, *second})}
