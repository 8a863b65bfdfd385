"""The paths the app answers, read from its route declarations (Flask/Quart decorators and
blueprints, FastAPI/Litestar decorators and routers, Starlette `Route`s, Django `path`s),
and the health check chosen from them."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from moai_deploy.init.django import DjangoFacts
from moai_deploy.init.sources import ProjectFiles, Source, call_name, string_arg

_GET_DECORATORS = frozenset({"route", "get", "api_route"})
_PREFIXED = {"Blueprint": "url_prefix", "APIRouter": "prefix", "Router": "path"}
_PARAM = re.compile(r"[<{]")
HEALTHY = re.compile(
    r"^/(?:api/)?(?:v\d+/)?(?:_?health(?:z|check|-check)?|livez?|liveness|ping)/?$"
)
READY = re.compile(r"^/(?:api/)?(?:v\d+/)?(?:_?ready|readyz|readiness)/?$")


@dataclass(frozen=True)
class HealthChoice:
    """The probes the spec gets, and why."""

    health_path: str
    ready_path: str
    ready_status: str  # "2xx", or "<500": any answer below 500 (redirects followed)
    reason: str


def _prefixes(source: Source) -> dict[str, str]:
    """Blueprint/router variables and their URL prefixes, e.g. {"bp": "/auth"}."""
    found: dict[str, str] = {}
    for node in ast.walk(source.tree) if source.tree else []:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            kind = call_name(node.value)
            if kind in _PREFIXED:
                prefix = string_arg(node.value, 99, keyword=_PREFIXED[kind]) or ""
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = prefix.rstrip("/")
    return found


def _decorated(source: Source) -> list[str]:
    prefixes = _prefixes(source)
    paths: list[str] = []
    for node in ast.walk(source.tree) if source.tree else []:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call) or call_name(decorator) not in _GET_DECORATORS:
                continue
            path = string_arg(decorator)
            methods = next((k.value for k in decorator.keywords if k.arg == "methods"), None)
            if path is None or (methods is not None and "GET" not in ast.unparse(methods)):
                continue
            owner = decorator.func.value if isinstance(decorator.func, ast.Attribute) else None
            prefix = prefixes.get(owner.id, "") if isinstance(owner, ast.Name) else ""
            paths.append(prefix + path)
    return paths


def _calls(source: Source) -> list[str]:
    """Starlette `Route("/x", ...)` and Django `path("x/", ...)` declarations."""
    paths: list[str] = []
    for node in ast.walk(source.tree) if source.tree else []:
        name = call_name(node)
        if name == "Route" and isinstance(node, ast.Call):
            path = string_arg(node)
            if path is not None:
                paths.append(path)
        elif name == "path" and isinstance(node, ast.Call) and "urlpatterns" in source.text:
            path = string_arg(node)
            if path is not None and "include" not in ast.unparse(node):
                paths.append("/" + path)
    return paths


def find_paths(files: ProjectFiles) -> list[str]:
    """GET paths without parameters that the project's own code declares."""
    found: list[str] = []
    for source in files.sources:
        if source.in_app_code:
            found += [p for p in (*_decorated(source), *_calls(source)) if not _PARAM.search(p)]
    return list(dict.fromkeys(p if p.startswith("/") else "/" + p for p in found))


def _probe_path(paths: list[str], framework: str | None, django: DjangoFacts | None) -> str:
    if "/" in paths:
        return "/"
    if django is not None and django.admin:
        return "/admin/"
    if framework == "fastapi":
        return "/docs"
    if framework == "litestar":
        return "/schema"
    return paths[0] if paths else "/"


def choose_health(
    files: ProjectFiles, framework: str | None, django: DjangoFacts | None = None
) -> HealthChoice:
    """The project's own health/readiness routes when it has them; otherwise a probe that
    accepts any answer below 500 on a path the app declares."""
    paths = find_paths(files)
    health = next((p for p in paths if HEALTHY.match(p)), None)
    ready = next((p for p in paths if READY.match(p)), None)
    if health or ready:
        live, readiness = health or ready or "/", ready or health or "/"
        return HealthChoice(
            live, readiness, "2xx", f"the project's own route(s) {', '.join({live, readiness})}"
        )
    probe = _probe_path(paths, framework, django)
    declared = "declared by the app" if probe in paths else "answered by the framework itself"
    if probe == "/" and "/" not in paths:
        declared = "no route declared: the app's root"
    why = (
        f"no health or readiness route found; {probe} ({declared}) is probed and any "
        "answer below 500 counts as up (redirects followed). Add a /health route that "
        "checks the database and set health_path/ready_path to it."
    )
    return HealthChoice(probe, probe, "<500", why)
