"""Find the web application object: module-level apps (`app = Flask(__name__)`,
`app = FastAPI()`, `app = create_app()`) and app factories (`def create_app(): ...`)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from moai_deploy.init.sources import ProjectFiles, Source, call_name

# Constructor name -> (framework, interface).
FRAMEWORKS = {
    "Flask": ("flask", "wsgi"),
    "Quart": ("quart", "asgi"),
    "FastAPI": ("fastapi", "asgi"),
    "Starlette": ("starlette", "asgi"),
    "Litestar": ("litestar", "asgi"),
    "Bottle": ("bottle", "wsgi"),
}
_PREFERRED_FILES = ("wsgi.py", "asgi.py", "app.py", "main.py", "__init__.py", "server.py")


@dataclass(frozen=True)
class AppTarget:
    """The object a server loads: `module:attr`, or a factory `module:attr()`."""

    framework: str  # flask, fastapi, starlette, litestar, quart, bottle, django
    interface: str  # wsgi or asgi
    module: str
    attr: str
    factory: bool
    source: str  # the file it was found in

    @property
    def ref(self) -> str:
        return f"{self.module}:{self.attr}"

    def describe(self) -> str:
        kind = "app factory" if self.factory else "app"
        return f"{self.framework} {kind} {self.ref}{'()' if self.factory else ''} ({self.source})"


def _frameworks_made(node: ast.AST) -> str | None:
    """The framework constructor called anywhere in `node` (a function body)."""
    for child in ast.walk(node):
        name = call_name(child)
        if name in FRAMEWORKS:
            return name
    return None


def _factories(files: ProjectFiles) -> dict[str, tuple[Source, str]]:
    """Top-level functions that build an app and return it: name -> (file, constructor)."""
    found: dict[str, tuple[Source, str]] = {}
    for source in files.sources:
        if source.tree is None or not source.in_app_code:
            continue
        for node in source.tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            made = _frameworks_made(node)
            returns = any(isinstance(n, ast.Return) and n.value for n in ast.walk(node))
            if made and returns:
                found.setdefault(node.name, (source, made))
    return found


def _module_level_apps(source: Source, factories: dict[str, tuple[Source, str]]) -> list[AppTarget]:
    apps: list[AppTarget] = []
    for node in source.tree.body if source.tree else []:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        value = getattr(node, "value", None)
        name = call_name(value) if value is not None else None
        constructor = name if name in FRAMEWORKS else factories.get(name or "", (None, None))[1]
        if constructor is None:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                framework, interface = FRAMEWORKS[constructor]
                apps.append(
                    AppTarget(
                        framework, interface, source.module, target.id, False, str(source.path)
                    )
                )
    return apps


def _plain_wsgi(source: Source) -> list[AppTarget]:
    """`def application(environ, start_response)`: a WSGI callable without a framework."""
    apps = []
    for node in source.tree.body if source.tree else []:
        if isinstance(node, ast.FunctionDef):
            names = [a.arg for a in node.args.args]
            if names[:2] == ["environ", "start_response"]:
                apps.append(
                    AppTarget("wsgi", "wsgi", source.module, node.name, False, str(source.path))
                )
    return apps


_ROUTE = re.compile(r"@\w+\.(?:route|get|post|put|delete|api_route)\(|\bRoute\(")


def _routes_per_package(files: ProjectFiles) -> dict[str, int]:
    """Route declarations per top-level package: the real app is the one with the routes
    (a `hello.py` next to the package is a leftover from the framework's quickstart)."""
    counts: dict[str, int] = {}
    for source in files.sources:
        top = source.module.split(".")[0]
        counts[top] = counts.get(top, 0) + len(_ROUTE.findall(source.text))
    return counts


def _rank(app: AppTarget, routes: dict[str, int]) -> tuple[int, int, int, int, int, str]:
    file_name = app.source.rsplit("/", 1)[-1]
    preferred = _PREFERRED_FILES.index(file_name) if file_name in _PREFERRED_FILES else 9
    usual_name = 0 if app.attr in ("app", "application", "create_app") else 1
    size = -routes.get(app.module.split(".")[0], 0)
    return (size, int(app.factory), app.source.count("/"), preferred, usual_name, app.source)


def find_apps(files: ProjectFiles) -> list[AppTarget]:
    """Every app object and factory in the project's own code, best candidate first."""
    factories = _factories(files)
    apps: list[AppTarget] = []
    for source in files.sources:
        if source.in_app_code:
            apps += _module_level_apps(source, factories) + _plain_wsgi(source)
    for name, (source, constructor) in factories.items():
        framework, interface = FRAMEWORKS[constructor]
        apps.append(AppTarget(framework, interface, source.module, name, True, str(source.path)))
    routes = _routes_per_package(files)
    return sorted(apps, key=lambda app: _rank(app, routes))
