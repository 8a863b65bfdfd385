"""The server that runs the app, chosen from the project's own dependencies, and its argv;
a Procfile's `web:` (and `release:`) line when the project has one."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from moai_deploy.init.apps import AppTarget

# Preference order per interface; the first one the project declares wins.
WSGI_SERVERS = ("gunicorn", "waitress", "granian", "uvicorn", "hypercorn")
ASGI_SERVERS = ("uvicorn", "hypercorn", "granian", "daphne", "gunicorn")
_SHELL = re.compile(r"&&|\|\||[;|<>`]|\$\(|^\w+=")


@dataclass(frozen=True)
class ServerChoice:
    """How the instances are started, and what to tell the user about it."""

    command: tuple[str, ...]
    server: str | None  # None: nothing declared that can serve the app
    note: str


def _gunicorn(app: AppTarget, target: str, deps: frozenset[str]) -> list[str]:
    argv = ["gunicorn", "--bind", "127.0.0.1:{port}", "--workers", "2"]
    if app.interface == "asgi":
        worker = "uvicorn_worker.UvicornWorker" if "uvicorn-worker" in deps else None
        argv += ["--worker-class", worker or "uvicorn.workers.UvicornWorker"]
    return [*argv, f"{target}()" if app.factory else target]


def server_argv(server: str, app: AppTarget, deps: frozenset[str]) -> list[str]:
    """The argv that serves `app` with `server` on 127.0.0.1:{port}."""
    target = app.ref
    if server == "gunicorn":
        return _gunicorn(app, target, deps)
    if server == "uvicorn":
        wsgi = ["--interface", "wsgi"] if app.interface == "wsgi" else []
        factory = ["--factory"] if app.factory else []
        return ["uvicorn", *wsgi, *factory, target, "--host", "127.0.0.1", "--port", "{port}"]
    if server == "hypercorn":
        return ["hypercorn", "--bind", "127.0.0.1:{port}", f"{target}()" if app.factory else target]
    if server == "granian":
        factory = ["--factory"] if app.factory else []
        return [
            "granian",
            "--interface",
            app.interface,
            *factory,
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            target,
        ]
    if server == "waitress":
        call = ["--call"] if app.factory else []
        return ["waitress-serve", "--listen=127.0.0.1:{port}", *call, target]
    return ["daphne", "--bind", "127.0.0.1", "--port", "{port}", target]


def choose_server(app: AppTarget, deps: frozenset[str]) -> ServerChoice:
    """The first declared server that can run the app; else say what to add."""
    order = ASGI_SERVERS if app.interface == "asgi" else WSGI_SERVERS
    for server in order:
        if server not in deps:
            continue
        no_worker = not {"uvicorn", "uvicorn-worker"} & deps
        if server == "gunicorn" and app.interface == "asgi" and no_worker:
            continue
        return ServerChoice(
            tuple(server_argv(server, app, deps)),
            server,
            f"{server} (declared in the project's dependencies)",
        )
    wanted = "uvicorn" if app.interface == "asgi" else "gunicorn"
    note = (
        f"no {app.interface.upper()} server among the project's dependencies: releases get "
        f"{wanted} from `service.extra_requirements` (or add `{wanted}` to the project's "
        "dependencies and remove it there)"
    )
    return ServerChoice(tuple(server_argv(wanted, app, deps)), None, note)


@dataclass(frozen=True)
class Procfile:
    """The Procfile's `web:` and `release:` commands, as argv (None when unusable)."""

    web: tuple[str, ...] | None
    release: tuple[tuple[str, ...], ...]
    note: str


def _argv(command: str) -> tuple[str, ...] | None:
    """A Procfile command as argv, `$PORT` as `{port}`; None if it needs a shell."""
    command = re.sub(r"\$\{?PORT\}?", "{port}", command.strip())
    if _SHELL.search(command):
        return None
    try:
        return tuple(shlex.split(command))
    except ValueError:
        return None


def read_procfile(text: str | None) -> Procfile | None:
    """The Procfile's web process (and release phase), or None when there is no Procfile."""
    if text is None:
        return None
    lines = dict(
        (name.strip(), command.strip())
        for name, sep, command in (line.partition(":") for line in text.splitlines())
        if sep and not name.strip().startswith("#")
    )
    web_text = lines.get("web")
    if web_text is None:
        return Procfile(None, (), "Procfile has no web: line")
    steps = [part.strip() for part in web_text.split("&&")]
    parsed = [_argv(step) for step in steps]
    release_text = lines.get("release")
    release = [_argv(release_text)] if release_text else []
    release += parsed[:-1]  # `migrate && gunicorn ...`: the first steps are release work
    if any(p is None for p in parsed) or any(r is None for r in release):
        return Procfile(None, (), f"Procfile web: {web_text!r} needs a shell; not taken")
    web = parsed[-1]
    note = "taken from the Procfile's web: line"
    if len(parsed) > 1:
        note += " (the commands before `&&` run once per release instead)"
    return Procfile(web, tuple(r for r in release if r), note)
