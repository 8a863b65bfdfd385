"""Everything `init` learns about a project, in one place (no file is written here)."""

from __future__ import annotations

import re
import socket
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from moai_deploy.build.dependencies import declared_names, install_plan, read_toml
from moai_deploy.init.apps import AppTarget, find_apps
from moai_deploy.init.devonly import dev_only_packages
from moai_deploy.init.django import DjangoFacts, detect_django
from moai_deploy.init.release import ReleaseFacts, env_reads, release_facts
from moai_deploy.init.routes import HealthChoice, choose_health
from moai_deploy.init.servers import ServerChoice, choose_server, read_procfile
from moai_deploy.init.sources import ProjectFiles

PORT_RANGE = (20000, 30000)


@dataclass(frozen=True)
class Detection:
    """What the project is and how to run it, with a note for every choice."""

    name: str
    app: AppTarget | None
    command: tuple[str, ...]
    server: str | None
    manager: str
    health: HealthChoice
    release: ReleaseFacts
    required_env: list[str]
    optional_env: list[str]
    ports: list[int]
    notes: list[str]
    env: dict[str, str] = field(default_factory=dict)  # plain values init sets itself
    test_dirs: list[str] = field(default_factory=list)  # tests/, test/: fake credentials
    dev_only: dict[str, str] = field(default_factory=dict)  # module -> its dev distribution
    extra_requirements: list[str] = field(default_factory=list)  # e.g. a missing server

    def summary(self) -> str:
        what = self.app.describe() if self.app else "no ASGI/WSGI app found"
        return f"{what}; server {self.server or 'none declared'}; dependencies {self.manager}"


def service_name(directory: Path) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", directory.resolve().name.lower()).strip("-") or "app"
    if not name[0].isalpha():
        name = f"app-{name}"
    return name[:40].rstrip("-")


def free_ports(name: str, count: int) -> list[int]:
    """`count` ports free now, from a place in 20000-29999 that depends on the project's
    name, so two projects on one machine do not start from the same port."""
    low, high = PORT_RANGE
    start = low + zlib.crc32(name.encode()) % (high - low)
    found: list[int] = []
    for offset in range(high - low):
        port = low + (start - low + offset * 10) % (high - low)
        if _free(port) and _free(port + 1000):  # +1000: a blue-green preview entrypoint
            found.append(port)
            if len(found) == count:
                break
    return found


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _choose_app(
    apps: list[AppTarget], django: DjangoFacts | None, deps: frozenset[str]
) -> AppTarget | None:
    if django is not None:
        asgi_only = not {"gunicorn", "waitress"} & deps and {"uvicorn", "daphne"} & deps
        return (django.asgi if asgi_only else None) or django.wsgi or django.asgi
    return apps[0] if apps else None


def _command(
    files: ProjectFiles, app: AppTarget | None, deps: frozenset[str], notes: list[str]
) -> tuple[tuple[str, ...], str | None, tuple[tuple[str, ...], ...]]:
    procfile = read_procfile(files.text("Procfile"))
    if procfile is not None:
        notes.append(f"command: {procfile.note}")
        if procfile.web is not None:
            return procfile.web, _program(procfile.web), procfile.release
    if app is None:
        notes.append("command: no app found; edit `service.command`")
        return ("python", "-m", "app", "--port", "{port}"), None, ()
    choice: ServerChoice = choose_server(app, deps)
    notes.append(f"command: {choice.note}")
    return choice.command, choice.server, ()


def _program(argv: tuple[str, ...]) -> str:
    """`gunicorn` for `gunicorn app:app` and for `python -m gunicorn app:app`."""
    if Path(argv[0]).name in ("python", "python3") and len(argv) > 2 and argv[1] == "-m":
        return argv[2]
    return Path(argv[0]).name


def _extra_env(files: ProjectFiles, app: AppTarget | None, notes: list[str]) -> dict[str, str]:
    """Plain variables init sets itself: PYTHONPATH for a src/ layout (not installed)."""
    if files.src_layout and app is not None and app.source.startswith("src/"):
        notes.append("env: PYTHONPATH=src (a src/ layout; the project is not installed)")
        return {"PYTHONPATH": "src"}  # relative to the release folder the instances run in
    return {}


def detect_project(directory: Path) -> Detection:
    """Read the project: app, server, dependencies, health, release work, ports."""
    files = ProjectFiles(directory)
    pyproject = (
        read_toml(directory / "pyproject.toml") if (directory / "pyproject.toml").is_file() else {}
    )
    deps = declared_names(directory, pyproject)
    plan = install_plan(directory)
    deps = deps | plan.names
    django = detect_django(files)
    app = _choose_app(find_apps(files), django, deps)
    notes: list[str] = []
    command, server, procfile_release = _command(files, app, deps, notes)
    release = release_facts(files, app, django, deps)
    if procfile_release:
        release = ReleaseFacts(
            procfile_release,
            release.shared_paths,
            ("release_command: from the Procfile", *release.notes[1:]),
            release.setup,
        )
    health = choose_health(files, app.framework if app else None, django)
    required, optional = env_reads(files)
    name = service_name(directory)
    manager = plan.manager + (" (installed from the lock file)" if plan.locked else "")
    env = _extra_env(files, app, notes)
    dev_only = dev_only_packages(directory, pyproject, files, django, deps)
    if dev_only:
        listed = ", ".join(f"{m} ({d})" for m, d in dev_only.items())
        notes.append(
            f"dev_dependencies: the settings load {listed}, which only the dev dependencies "
            "provide; releases install those too (or move them to the release dependencies)"
        )
    return Detection(
        name,
        app,
        command,
        server,
        manager,
        health,
        release,
        required,
        optional,
        free_ports(name, 3),
        notes,
        env,
        [t for t in ("tests", "test") if (directory / t).is_dir()],
        dev_only,
        [server_needed] if (server_needed := _missing_server(app, server, command)) else [],
    )


def _missing_server(app: AppTarget | None, server: str | None, command: tuple[str, ...]) -> str:
    """The server init's command runs when the project declares none ('' otherwise)."""
    return _program(command) if app is not None and server is None and command else ""
