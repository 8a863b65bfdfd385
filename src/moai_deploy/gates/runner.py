"""Running gates: selected by name or environment, in parallel, from cache when unchanged."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from moai_deploy import __version__
from moai_deploy.errors import BadInputError
from moai_deploy.gates.base import Gate, GateContext
from moai_deploy.gates.cache import GateCache
from moai_deploy.gates.inputs import ContentHasher, named_files, select, walk_project
from moai_deploy.gates.model import GateOutcome, GateResult, GateRun, GateStatus
from moai_deploy.gates.provision import ResolvedTool, Toolbox, ToolProvisionError
from moai_deploy.gates.registry import BUILTIN_GATES, normalize_name
from moai_deploy.gates.tools import ToolMissingError, ToolTimeoutError
from moai_deploy.paths import StateLayout, default_cache_dir
from moai_deploy.spec.gates import GatesSpec

CACHE_DIR_NAME = "gates-cache"
# progress(event, gate, result): "started" (result None) as a gate begins, "finished" after.
Progress = Callable[[str, str, GateResult | None], None]


@dataclass(frozen=True)
class RunOptions:
    """How to run: which gates, for which environment, cached or not, how many at once."""

    only: tuple[str, ...] = ()
    environment: str | None = None
    use_cache: bool = True
    jobs: int | None = None
    required_only: bool = False  # a deploy runs just the gates its environment requires
    cache_dir: Path | None = None  # where tools and project envs are built (user cache)
    python: str | None = None  # the spec's service.python: the project's interpreter
    progress: Progress | None = field(default=None, compare=False)


def run_gates(
    project_dir: Path, gates: GatesSpec, layout: StateLayout, options: RunOptions = RunOptions()
) -> GateRun:
    """Run the chosen gates and judge them (required vs advisory, on_error policy)."""
    started, clock = datetime.now(UTC), time.monotonic()
    root = project_dir.resolve()
    names = choose(gates, options)
    required = _required(gates, options.environment, names)
    files = walk_project(root, skip=[layout.root])
    hasher = ContentHasher(root)
    cache = GateCache(layout.root / CACHE_DIR_NAME)
    jobs = options.jobs or gates.jobs or os.cpu_count() or 1
    versions = {str(name): version for name, version in gates.tools.items()}
    toolbox = Toolbox(options.cache_dir or default_cache_dir(), root, versions, options.python)
    job = _Job(root, gates, files, hasher, cache, options, toolbox)

    def one(name: str) -> GateResult:
        if options.progress is not None:
            options.progress("started", name, None)
        result = _run_one(BUILTIN_GATES[name], job)
        if options.progress is not None:
            options.progress("finished", name, result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(names) or 1))) as pool:
        results = list(pool.map(one, names))
    outcomes = [
        GateOutcome(result, result.gate in required, on_error(gates, result.gate))
        for result in results
    ]
    return GateRun(str(root), options.environment, started, outcomes, time.monotonic() - clock)


def choose(gates: GatesSpec, options: RunOptions) -> list[str]:
    """The gate names to run, in registry order; BadInputError for unknown names."""
    wanted = [normalize_name(n) for n in options.only]
    unknown = sorted(set(wanted) - set(BUILTIN_GATES))
    if unknown:
        known = ", ".join(BUILTIN_GATES)
        raise BadInputError(f"unknown gate(s): {', '.join(unknown)}\n    fix: choose from {known}")
    enabled = [n for n in BUILTIN_GATES if gates.settings(n).enabled]
    if wanted:
        enabled = [n for n in BUILTIN_GATES if n in wanted]
    if options.required_only and options.environment is not None:
        needed = gates.required_in(options.environment)
        enabled = [n for n in enabled if n in needed]
    return enabled


def _required(gates: GatesSpec, environment: str | None, names: Iterable[str]) -> set[str]:
    # Without an environment every gate that runs counts: `moai-deploy gate` in CI fails
    # on any failure. With one, only that environment's required gates can block.
    if environment is None:
        return set(names)
    return set(gates.required_in(environment))


def on_error(gates: GatesSpec, name: str) -> str:
    """The gate's on_error policy: its setting, else `warn` for network gates, else `fail`."""
    configured = gates.settings(name).on_error
    if configured is not None:
        return configured
    return "warn" if BUILTIN_GATES[name].network else "fail"


@dataclass(frozen=True)
class _Job:
    root: Path
    gates: GatesSpec
    files: tuple[str, ...]
    hasher: ContentHasher
    cache: GateCache
    options: RunOptions
    toolbox: Toolbox


def _tools(gate: Gate, toolbox: Toolbox) -> tuple[ResolvedTool | None, Path | None]:
    """The gate's tool (provisioned on first use) and, if it imports the project's code,
    the project's interpreter."""
    tool = toolbox.tool(gate.tool) if gate.tool else None
    python = toolbox.project_env().python if gate.project_env else None
    return tool, python


def _run_one(gate: Gate, job: _Job) -> GateResult:
    clock = time.monotonic()
    settings = job.gates.settings(gate.name)
    files = select(job.files, (*gate.inputs, *settings.extra_inputs), settings.exclude)
    skip = gate.skip_reason(job.root, files)
    if skip is not None:
        return GateResult(gate.name, GateStatus.SKIPPED, note=skip)
    try:
        tool, python = _tools(gate, job.toolbox)
    except ToolProvisionError as exc:
        return GateResult(gate.name, GateStatus.ERROR, note=str(exc))
    version = tool.version if tool else None
    env_id = python.parent.parent.name if python else ""  # the project env's content address
    parts = [gate.name, __version__, settings.model_dump_json(), version or "", env_id]
    hashed = sorted({*files, *named_files(job.root, settings.named_paths())})
    key = job.hasher.key([*parts, *gate.cache_parts()], hashed)
    if job.options.use_cache and (hit := job.cache.get(gate.name, key)) is not None:
        return hit.with_(duration=time.monotonic() - clock)
    work = job.cache.work_dir(gate.name)
    ctx = GateContext(job.root, settings, files, work, version, tool.path if tool else None,
                      python)  # fmt: skip
    try:
        result = gate.run(ctx)
    except (ToolMissingError, ToolTimeoutError) as exc:
        result = ctx.error(gate.name, str(exc))
    except (OSError, ValueError, json.JSONDecodeError) as exc:  # unreadable tool output
        result = ctx.error(gate.name, f"{type(exc).__name__}: {exc}")
    result = job.cache.put(gate.name, key, work, result.with_(gate=gate.name))
    return result.with_(duration=time.monotonic() - clock)
