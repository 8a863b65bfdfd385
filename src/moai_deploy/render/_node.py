"""Grafana dashboards and Prometheus Operator objects checked against their published types.

No JSON Schema of Grafana's dashboard model is published; its schema ships as TypeScript
types generated from Grafana's CUE kinds (npm `@grafana/schema`, with the Prometheus query
and annotation types in `@grafana/grafana-foundation-sdk`). The Prometheus Operator's
types come from `@kubernetes-models/prometheus-operator`, generated from the operator's Go
API. Each rendered file becomes one TypeScript object literal typed with those types and
goes through `tsc --strict`: a wrong type, a missing required key or an unknown key is an
error (TypeScript's excess-property check). The operator objects also go through the
package's own runtime validator (patterns such as Prometheus durations).

The packages are pinned by `node/package-lock.json` and installed once with `npm ci` into
the user cache (needs Node.js and npm: Debian `nodejs npm`).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from moai_deploy.errors import BadInputError
from moai_deploy.paths import default_cache_dir, exclusive_lock

Problems = dict[str, list[str]]
HERE = Path(__file__).parent / "node"
TIMEOUT = 300
_TSC_LINE = re.compile(r"^(?P<file>check-\d+\.ts)\(\d+,\d+\): (?P<msg>.*)$")

_PRELUDE = """\
import type { Dashboard, Panel } from "@grafana/schema";
import type {
  Options as TimeSeriesOptions,
  FieldConfig as TimeSeriesFieldConfig,
} from
  "@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen";
import type { AnnotationQuery } from "@grafana/grafana-foundation-sdk/dashboard";
import type { Dataquery } from "@grafana/grafana-foundation-sdk/prometheus";
import type { IPrometheusRule, IPodMonitor } from
  "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

// Enum types become the union of their values: JSON holds "list", not LegendDisplayMode.List.
type Loose<T> = T extends string ? `${T}` : T extends (infer U)[] ? Loose<U>[]
  : T extends object ? { [K in keyof T]: Loose<T[K]> } : T;
type Query = Loose<Omit<Dataquery, "_implementsDataqueryVariant">>;
type Field = Loose<NonNullable<Panel["fieldConfig"]>["defaults"]>;
type TimeSeriesPanel = Loose<Omit<Panel, "targets" | "options" | "fieldConfig" | "type">> & {
  type: "timeseries";
  targets: Query[];
  options: Loose<TimeSeriesOptions>;
  fieldConfig: {
    defaults: Omit<Field, "custom"> & { custom: Loose<TimeSeriesFieldConfig> };
    overrides: Loose<NonNullable<Panel["fieldConfig"]>["overrides"]>;
  };
};
type Annotation = Loose<Omit<AnnotationQuery, "target">> & { target?: Query };
type CheckedDashboard = Loose<Omit<Dashboard, "panels" | "annotations">> & {
  panels: TimeSeriesPanel[];
  annotations: { list: Annotation[] };
};
"""
_TYPES = {
    "dashboard": "CheckedDashboard",
    "PrometheusRule": "IPrometheusRule",
    "PodMonitor": "IPodMonitor",
}
_RUNTIME = """\
import { readFileSync } from "node:fs";
import { PrometheusRule, PodMonitor } from
  "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
const models = { PrometheusRule, PodMonitor };
const out = {};
for (const [path, doc] of Object.entries(JSON.parse(readFileSync(process.argv[2], "utf8")))) {
  try { new models[doc.kind](doc).validate(); out[path] = []; }
  catch (err) { out[path] = [String(err.message || err)]; }
}
console.log(JSON.stringify(out));
"""


def _npm() -> str:
    found = shutil.which("npm")
    if found is None or shutil.which("node") is None:
        raise BadInputError(
            "validator needs Node.js and npm (Grafana and Prometheus Operator types)\n"
            "    fix: apt-get install nodejs npm"
        )
    return found


def validators_dir() -> Path:
    """The pinned npm packages, installed once per lock file into the user cache."""
    lock = (HERE / "package-lock.json").read_bytes()
    target = default_cache_dir() / "node-validators" / hashlib.sha256(lock).hexdigest()[:16]
    done = target / "node_modules" / ".package-lock.json"
    if done.is_file():
        return target
    with exclusive_lock(target.with_suffix(".lock")):
        if not done.is_file():
            target.mkdir(parents=True, exist_ok=True)
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(HERE / name, target / name)
            argv = [_npm(), "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
            run = subprocess.run(
                argv, cwd=target, capture_output=True, text=True, timeout=TIMEOUT, check=False
            )
            if run.returncode != 0:
                raise BadInputError(f"npm ci for the validators failed: {run.stderr.strip()}")
    return target


def _load(path: Path) -> Any:
    text = path.read_text()
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def _kind(doc: Any) -> str | None:
    if isinstance(doc, dict) and "panels" in doc and "schemaVersion" in doc:
        return "dashboard"
    kind = doc.get("kind") if isinstance(doc, dict) else None
    return kind if kind in _TYPES else None


def typecheck(paths: list[Path]) -> Problems:
    """Each dashboard / PrometheusRule / PodMonitor against its published types."""
    if not paths:
        return {}
    problems: Problems = {str(p): [] for p in paths}
    docs = {str(p): _load(p) for p in paths}
    root = validators_dir()
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        work = Path(tmp)
        names: dict[str, str] = {}
        for index, (path, doc) in enumerate(docs.items()):
            kind = _kind(doc)
            if kind is None:
                problems[path].append("not a Grafana dashboard, PrometheusRule or PodMonitor")
                continue
            name = f"check-{index}.ts"
            names[name] = path
            body = f"export const checked: {_TYPES[kind]} = {json.dumps(doc, indent=1)};\n"
            (work / name).write_text(_PRELUDE + body)
        for name, message in _tsc(root, work, sorted(names)):
            problems[names.get(name, paths[0].as_posix())].append(message)
        operator = {p: d for p, d in docs.items() if _kind(d) in ("PrometheusRule", "PodMonitor")}
        for path, found in _runtime(root, work, operator).items():
            problems[path] += found
    return problems


def _tsc(root: Path, work: Path, files: list[str]) -> list[tuple[str, str]]:
    if not files:
        return []
    tsc = root / "node_modules" / "typescript" / "bin" / "tsc"
    argv = ["node", str(tsc), "--noEmit", "--strict", "--skipLibCheck", "--pretty", "false"]
    argv += ["--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler", *files]
    run = subprocess.run(
        argv, cwd=work, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    found = []
    for line in run.stdout.splitlines():
        match = _TSC_LINE.match(line.strip())
        if match:
            found.append((match["file"], match["msg"]))
    if run.returncode != 0 and not found:
        found.append((files[0], (run.stdout + run.stderr).strip() or f"exit {run.returncode}"))
    return found


def _runtime(root: Path, work: Path, docs: dict[str, Any]) -> Problems:
    if not docs:
        return {}
    (work / "runtime.mjs").write_text(_RUNTIME)
    (work / "docs.json").write_text(json.dumps(docs))
    argv = ["node", str(work / "runtime.mjs"), str(work / "docs.json")]
    run = subprocess.run(
        argv, cwd=root, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    if run.returncode != 0:
        return {path: [run.stderr.strip() or f"exit {run.returncode}"] for path in docs}
    result: Problems = json.loads(run.stdout)
    return result
