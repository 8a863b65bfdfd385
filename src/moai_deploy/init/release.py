"""What runs once per release (migrations, `init-db`, collectstatic), what must persist
between releases (SQLite files, uploads, `instance/`), and the variables the code reads."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from moai_deploy.init.apps import AppTarget
from moai_deploy.init.django import DjangoFacts
from moai_deploy.init.sources import ProjectFiles, call_name, string_arg
from moai_deploy.paths import SKIPPED_DIRS

_INIT_DB = re.compile(r"^(init[-_]?db|create[-_]?db|initdb|db[-_]init|create[-_]tables)$")
_SQLITE_URL = re.compile(r"""sqlite:///(?!/)([\w./-]+)""")
_SQLITE_CONNECT = re.compile(r"""sqlite3\.connect\(\s*["'](?!/|:memory:)([\w./-]+)["']""")
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|_KEY$|^KEY$|DATABASE_URL|_DSN$|API_KEY")


@dataclass(frozen=True)
class ReleaseFacts:
    """Release-time work and persistent paths, each with the reason it was chosen."""

    commands: tuple[tuple[str, ...], ...]
    shared_paths: tuple[str, ...]
    notes: tuple[str, ...]
    setup: tuple[tuple[str, ...], ...] = ()  # the first release only (drops tables)


def _cli_commands(files: ProjectFiles) -> list[tuple[str, str]]:
    """Click/Flask CLI commands declared by name: (command name, file)."""
    found = []
    for source in files.sources:
        for node in ast.walk(source.tree) if source.tree else []:
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and call_name(decorator) == "command":
                    name = string_arg(decorator) or node.name.replace("_", "-")
                    found.append((name, str(source.path)))
    return found


def _destructive(files: ProjectFiles) -> str | None:
    for path in sorted(files.root.rglob("*.sql")):
        if SKIPPED_DIRS.intersection(path.relative_to(files.root).parts):
            continue
        if "DROP TABLE" in path.read_text(errors="replace").upper():
            return str(path.relative_to(files.root))
    return None


def _flask_commands(files: ProjectFiles, app: AppTarget, deps: frozenset[str]) -> ReleaseFacts:
    app_arg = app.module if app.factory else app.ref
    if "flask-migrate" in deps and (files.root / "migrations" / "alembic.ini").is_file():
        return ReleaseFacts(
            (("flask", "--app", app_arg, "db", "upgrade"),),
            (),
            ("release_command: Flask-Migrate's `flask db upgrade`",),
        )
    for name, where in _cli_commands(files):
        if not _INIT_DB.match(name):
            continue
        dropped = _destructive(files)
        if dropped:
            note = (
                f"setup_command: `flask {name}` ({where}) runs {dropped}, which drops "
                "tables, so it runs on an environment's first release only, never on live data"
            )
            return ReleaseFacts((), (), (note,), (("flask", "--app", app_arg, name),))
        return ReleaseFacts(
            (("flask", "--app", app_arg, name),),
            (),
            (
                f"release_command: `flask {name}` ({where}); it runs on every "
                "release, so it must be idempotent",
            ),
        )
    return ReleaseFacts((), (), ())


def _django_commands(django: DjangoFacts) -> ReleaseFacts:
    commands = [("python", "manage.py", "migrate", "--noinput")]
    notes = ["release_command: `manage.py migrate` (once per release, before instances start)"]
    if django.static_root:
        commands.append(("python", "manage.py", "collectstatic", "--noinput"))
        notes.append("release_command: `collectstatic` into STATIC_ROOT of the new release")
    shared = [p for p in (django.sqlite_file, django.media_dir and django.media_dir + "/") if p]
    return ReleaseFacts(tuple(commands), tuple(shared), tuple(notes))


def _sqlite_paths(files: ProjectFiles) -> list[str]:
    """Relative SQLite files named in the code (`sqlite:///data/app.db`) and Flask's
    instance folder when the app keeps files there."""
    paths: list[str] = []
    for source in files.sources:
        if not source.in_app_code:
            continue
        for match in [*_SQLITE_URL.finditer(source.text), *_SQLITE_CONNECT.finditer(source.text)]:
            relative = match.group(1).removeprefix("./")
            paths.append(relative.rsplit("/", 1)[0] + "/" if "/" in relative else relative)
        if "instance_path" in source.text or "instance_relative_config=True" in source.text:
            paths.append("instance/")
    return list(dict.fromkeys(paths))


_NOT_DATA = frozenset({"env", ".env", "staticfiles", "static", "logs", "log", "tmp", ".idea"})


def _ignored_data_dirs(files: ProjectFiles) -> list[str]:
    """Folders .gitignore keeps out of git that the code names in a string literal
    (`"var/notes.json"`, `Path("uploads")`): data the running app writes."""
    ignored = []
    for line in (files.text(".gitignore") or "").splitlines():
        name = line.strip().strip("/")
        if name and not re.search(r"[*?\[!#\s]|/", name) and name not in SKIPPED_DIRS | _NOT_DATA:
            ignored.append(name)
    found = []
    for name in ignored:
        pattern = re.compile(rf"""["'](?:\./)?{re.escape(name)}(?:/[^"']*)?["']""")
        if any(s.in_app_code and pattern.search(s.text) for s in files.sources):
            found.append(name + "/")
    return found


def release_facts(
    files: ProjectFiles, app: AppTarget | None, django: DjangoFacts | None, deps: frozenset[str]
) -> ReleaseFacts:
    """Release command(s) and shared paths for the detected kind of project."""
    facts = ReleaseFacts((), (), ())
    if django is not None:
        facts = _django_commands(django)
    elif app is not None and app.framework in ("flask", "quart"):
        facts = _flask_commands(files, app, deps)
    if not facts.commands and "alembic" in deps and (files.root / "alembic.ini").is_file():
        facts = ReleaseFacts(
            (("alembic", "upgrade", "head"),),
            facts.shared_paths,
            (*facts.notes, "release_command: `alembic upgrade head`"),
            facts.setup,
        )
    detected = [*facts.shared_paths, *_sqlite_paths(files), *_ignored_data_dirs(files)]
    shared = tuple({p.rstrip("/"): p for p in reversed(detected)}.values())[::-1]
    if shared:
        notes = (*facts.notes, f"shared_paths: {', '.join(shared)} persist across releases")
        facts = ReleaseFacts(facts.commands, shared, notes, facts.setup)
    return facts


def env_reads(files: ProjectFiles) -> tuple[list[str], list[str]]:
    """(variables the code requires, variables it reads with a default)."""
    required: dict[str, None] = {}
    optional: dict[str, None] = {}
    for source in files.sources:
        if not source.in_app_code:
            continue
        for node in ast.walk(source.tree) if source.tree else []:
            name, has_default = _env_read(node)
            if name and not name.startswith("MOAI_DEPLOY_"):
                (optional if has_default else required)[name] = None
    return sorted(required), sorted(set(optional) - set(required))


def _env_read(node: ast.AST) -> tuple[str | None, bool]:
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
        key = node.slice
        return (
            key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
        ), False
    if not isinstance(node, ast.Call):
        return None, False
    func = ast.unparse(node.func)
    if func in ("os.environ.get", "os.getenv", "environ.get", "getenv"):
        return string_arg(node), True  # None when unset: the code copes
    if func in ("env", "config", "env.str", "env.bool", "env.int", "env.list", "env.db"):
        has_default = any(k.arg == "default" for k in node.keywords) or len(node.args) > 1
        return string_arg(node), has_default
    return None, False


def is_secret_name(name: str) -> bool:
    """Whether a variable's value is a secret (it then becomes a ${secret:NAME} reference)."""
    return bool(_SECRET_NAME.search(name.upper()))
