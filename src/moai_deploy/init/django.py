"""Django projects: manage.py names the settings module; the settings name the WSGI/ASGI
application, the URLs, static files, media and an SQLite database file."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from moai_deploy.init.apps import AppTarget
from moai_deploy.init.sources import ProjectFiles, Source

_SETTINGS = re.compile(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""")


@dataclass(frozen=True)
class DjangoFacts:
    """What the settings say (values only where they are literals or BASE_DIR paths)."""

    settings_module: str
    wsgi: AppTarget | None
    asgi: AppTarget | None
    urls_module: str | None
    static_root: bool  # collectstatic has somewhere to write
    sqlite_file: str | None  # relative to the project, e.g. "db.sqlite3"
    media_dir: str | None  # relative, e.g. "media"
    admin: bool  # the admin is routed (its login page answers)
    apps: tuple[str, ...] = ()  # INSTALLED_APPS and MIDDLEWARE entries (literals)


def _assigned(source: Source) -> dict[str, ast.expr]:
    values: dict[str, ast.expr] = {}
    for node in source.tree.body if source.tree else []:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values[target.id] = node.value
    return values


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _base_dir_path(node: ast.expr | None) -> str | None:
    """`BASE_DIR / "db.sqlite3"` or `os.path.join(BASE_DIR, "media")` -> the relative part."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _base_dir_path(node.left), _literal(node.right)
        if right is not None and left is not None:
            return f"{left}/{right}".lstrip("/")
    if isinstance(node, ast.Name) and node.id == "BASE_DIR":
        return ""
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "join" and node.args:
        first = _base_dir_path(node.args[0])
        rest = [_literal(a) for a in node.args[1:]]
        if first is not None and all(r is not None for r in rest):
            return "/".join([first, *(r for r in rest if r)]).lstrip("/")
    return None


def _sqlite_file(values: dict[str, ast.expr]) -> str | None:
    databases = values.get("DATABASES")
    if not isinstance(databases, ast.Dict):
        return None
    for entry in databases.values:
        if not isinstance(entry, ast.Dict):
            continue
        fields = {_literal(k): v for k, v in zip(entry.keys, entry.values, strict=True) if k}
        engine = _literal(fields.get("ENGINE"))
        if engine and engine.endswith("sqlite3"):
            name = fields.get("NAME")
            return _base_dir_path(name) if name is not None else None
    return None


def _app(files: ProjectFiles, dotted: str | None, interface: str) -> AppTarget | None:
    if not dotted or "." not in dotted:
        return None
    module, attr = dotted.rsplit(".", 1)
    source = files.module(module)
    if source is None:
        return None
    return AppTarget("django", interface, module, attr, False, str(source.path))


def detect_django(files: ProjectFiles) -> DjangoFacts | None:
    """The Django project's facts, or None when there is no manage.py naming its settings."""
    manage = files.text("manage.py")
    match = _SETTINGS.search(manage or "")
    if match is None:
        return None
    settings = files.module(match.group(1))
    if settings is None and files.module(f"{match.group(1)}.base") is not None:
        settings = files.module(f"{match.group(1)}.base")
    values = _assigned(settings) if settings else {}
    base = match.group(1).rsplit(".", 1)[0]
    wsgi = _app(files, _literal(values.get("WSGI_APPLICATION")), "wsgi")
    asgi = _app(files, _literal(values.get("ASGI_APPLICATION")), "asgi")
    urls = _literal(values.get("ROOT_URLCONF"))
    urls_source = files.module(urls) if urls else None
    return DjangoFacts(
        settings_module=match.group(1),
        wsgi=wsgi or _app(files, f"{base}.wsgi.application", "wsgi"),
        asgi=asgi or _app(files, f"{base}.asgi.application", "asgi"),
        urls_module=urls,
        static_root="STATIC_ROOT" in values,
        sqlite_file=_sqlite_file(values),
        media_dir=_base_dir_path(values.get("MEDIA_ROOT")),
        admin=bool(urls_source and "admin.site.urls" in urls_source.text),
        apps=_strings(values.get("INSTALLED_APPS")) + _strings(values.get("MIDDLEWARE")),
    )


def _strings(node: ast.expr | None) -> tuple[str, ...]:
    if not isinstance(node, ast.List | ast.Tuple):
        return ()
    return tuple(text for item in node.elts if (text := _literal(item)) is not None)
