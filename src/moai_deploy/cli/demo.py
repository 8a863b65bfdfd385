"""`moai-deploy demo`: the walking skeleton end to end on this host, counted from the client.

Copies the example service into a scratch git repository, deploys v1 (2 instances) behind
the router, puts it under keep-alive load, deploys v2 blue-green, rolls back to v1, and reports
every request's outcome. Everything it starts it stops; the scratch folder is removed.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table
from ruamel.yaml import YAML

import moai_deploy
from moai_deploy.cli.output import RichReporter, console, releases_table
from moai_deploy.errors import BadInputError, MoaiError
from moai_deploy.observe.load import LoadReport, start_load_in_background
from moai_deploy.observe.summary import render_summary
from moai_deploy.paths import write_private
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.runtime.base import free_port

ENVIRONMENT = "demo"
# The load stops by itself after this long even if a release hangs (it is stopped as soon
# as the rollback has finished and the tail of steady traffic has been measured).
MAX_LOAD_SECONDS = 900.0
_GIT = ["git", "-c", "user.name=moai-demo", "-c", "user.email=demo@localhost"]
_COPY_IGNORE = shutil.ignore_patterns(".mypy_cache", "__pycache__", ".moai-deploy", ".venv")


def find_example(explicit: Path | None) -> Path:
    """The example service: --example, the copy inside the wheel, or the source checkout."""
    package = Path(moai_deploy.__file__).parent
    candidates = [
        explicit,
        package / "_examples" / "hello-service",
        package.parents[1] / "examples" / "hello-service",
        Path.cwd() / "examples" / "hello-service",
    ]
    for candidate in candidates:
        if candidate is not None and (candidate / "moai-deploy.yaml").is_file():
            return candidate
    raise BadInputError("example service not found\n    fix: pass --example PATH")


def _git(workspace: Path, *args: str) -> None:
    subprocess.run([*_GIT, "-C", str(workspace), *args], check=True, capture_output=True)


def prepare_workspace(example: Path, workspace: Path) -> Path:
    """A git repository holding the example at v1, every environment on a free port
    (the scratch copy must not collide with anything already listening here)."""
    project = workspace / "hello-service"
    shutil.copytree(example, project, ignore=_COPY_IGNORE)
    yaml = YAML(typ="rt")
    spec_path = project / "moai-deploy.yaml"
    data = yaml.load(spec_path)
    taken: set[int] = set()
    for overlay in data["environments"].values():
        port = free_port()
        while port in taken or port + 1000 in taken:  # the OS may hand out a port twice
            port = free_port()
        overlay["port"] = port
        taken |= {port, port + 1000}  # and its default blue-green preview port
    yaml.dump(data, spec_path)
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "hello-service 1.0.0")
    return project


def edit_environment(project: Path, environment: str, **changes: object) -> None:
    """Change one environment's overlay in the scratch spec and commit it (demo, tests, bench)."""
    yaml = YAML(typ="rt")
    spec_path = project / "moai-deploy.yaml"
    data = yaml.load(spec_path)
    data["environments"][environment].update(changes)
    # Replaced whole, never truncated then written: a deployer or a test's helper thread
    # reading the spec meanwhile sees the old or the new file, not an empty one.
    text = io.StringIO()
    yaml.dump(data, text)
    write_private(spec_path, text.getvalue())
    _git(project, "commit", "-q", "--allow-empty", "-am", f"spec: {environment} changed")


def make_v2(project: Path) -> None:
    """Commit a real code change: the service now reports 2.0.0."""
    version_file = project / "app" / "version.py"
    text = version_file.read_text().replace('__version__ = "1.0.0"', '__version__ = "2.0.0"')
    version_file.write_text(text)
    _git(project, "commit", "-q", "-am", "hello-service 2.0.0")


@dataclass
class Phases:
    """When each phase started and ended, on the load's clock."""

    marks: list[tuple[str, float, float]] = field(default_factory=list)

    def table(self, report: LoadReport) -> Table:
        table = Table(title="phases under load (client-side counts)", title_justify="left")
        for column in ("phase", "from s", "to s", "requests", "failed", "p99 ms"):
            table.add_column(column)
        for name, start, end in self.marks:
            window = report.between(start, end)
            p99 = report.latency_percentile_between(start, end, 99) * 1000
            failed = report.failures_between(start, end)
            table.add_row(
                name, f"{start:.1f}", f"{end:.1f}", str(len(window)), str(failed), f"{p99:.1f}"
            )
        return table


def _timed(
    phases: Phases, clock: Callable[[], float], name: str, action: Callable[[], object]
) -> bool:
    console.rule(f"[bold]{name}")
    start = clock()
    try:
        action()
        return True
    except MoaiError as exc:
        console.print(f"[red]{name} failed:[/] {exc}")
        return False
    finally:
        phases.marks.append((name, start, clock()))


def run_demo(example: Path | None, tail: float, runtime: str = "local") -> int:
    """Run the demo; 0 when every release step worked and no request failed."""
    source = find_example(example)
    workspace = Path(tempfile.mkdtemp(prefix="moai-demo-"))
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            project_dir = prepare_workspace(source, workspace)
            if runtime == "docker":
                from moai_deploy.cli.demo_docker import docker_demo, remove_images, use_docker

                registry, base = stack.enter_context(docker_demo(workspace))
                use_docker(project_dir, ENVIRONMENT, registry, base)
            project = Project.open(project_dir / "moai-deploy.yaml")
            try:
                return _scenario(project, project_dir, tail, started)
            finally:
                operations.down(project, ENVIRONMENT)
                if runtime == "docker":
                    remove_images(project)
                project.close()
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _scenario(project: Project, project_dir: Path, tail: float, started: float) -> int:
    reporter = RichReporter()
    console.rule("[bold]1. deploy v1 (2 instances)")
    operations.deploy(project, ENVIRONMENT, "v1", reporter)
    url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENVIRONMENT)}/"
    console.rule(
        f"[bold]2. load: 16 keep-alive clients on {url} until {tail:g}s after the rollback"
    )
    load = start_load_in_background(url, duration=MAX_LOAD_SECONDS, concurrency=16)
    phases = Phases()
    ok = True
    try:
        time.sleep(tail)  # steady v1 traffic first
        make_v2(project_dir)
        ok &= _timed(
            phases,
            load.elapsed,
            "deploy v2 (blue-green)",
            lambda: operations.deploy(project, ENVIRONMENT, "v2", reporter),
        )
        time.sleep(1.0)
        ok &= _timed(
            phases,
            load.elapsed,
            "rollback to v1",
            lambda: operations.rollback(project, ENVIRONMENT, None, reporter),
        )
        time.sleep(tail)  # steady v1 traffic after the rollback
    finally:
        load.stop()
        report = load.result(timeout=60)
    if phases.marks:
        first, last = phases.marks[0][1], phases.marks[-1][2]
        end = max(s.start + s.latency for s in report.samples) if report.samples else last
        phases.marks = [("steady, v1", 0.0, first), *phases.marks, ("steady, v1", last, end)]
    console.rule("[bold]3. what the clients saw")
    render_summary(report, console, title="demo load")
    console.print(phases.table(report))
    console.print(
        releases_table(
            [r.to_dict() for r in project.ledger.list_releases(project.service, ENVIRONMENT)],
            "ledger",
        )
    )
    verdict = ok and report.failed == 0
    colour = "green" if verdict else "red"
    console.print(
        f"[{colour}]{report.failed} failed of {report.total} requests; "
        f"demo took {time.monotonic() - started:.0f}s[/]"
    )
    return 0 if verdict else 1
