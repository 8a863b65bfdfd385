"""The project's Python files, parsed once: what every detector reads."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from moai_deploy.paths import SKIPPED_DIRS

# Folders whose apps are never the one to deploy (tests, docs, examples, migrations).
_NOT_THE_APP = frozenset(
    {"tests", "test", "testing", "docs", "doc", "examples", "example", "migrations", "scripts"}
)
MAX_FILES = 2000
MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class Source:
    """One Python file of the project."""

    path: Path  # relative to the project
    text: str
    src_layout: bool = False  # src/ holds the packages (src/ itself is no package)

    @property
    def module(self) -> str:
        """Dotted module name, from the project folder (src/ layouts: from src/)."""
        parts = list(self.path.with_suffix("").parts)
        if self.src_layout and parts and parts[0] == "src":
            parts = parts[1:]
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        return ".".join(parts)

    @property
    def in_app_code(self) -> bool:
        return not _NOT_THE_APP.intersection(self.path.parts[:-1]) and not (
            self.path.name.startswith("test_") or self.path.name == "conftest.py"
        )

    @cached_property
    def tree(self) -> ast.Module | None:
        try:
            return ast.parse(self.text, filename=str(self.path))
        except (SyntaxError, ValueError):
            return None


@dataclass
class ProjectFiles:
    """The project folder and its Python sources (tool and build folders skipped)."""

    root: Path

    @property
    def src_layout(self) -> bool:
        """Packages under src/ (without src/__init__.py): they import with src/ on the path."""
        src = self.root / "src"
        return src.is_dir() and not (src / "__init__.py").is_file()

    @cached_property
    def sources(self) -> list[Source]:
        found: list[Source] = []
        src_layout = self.src_layout
        for path in sorted(self.root.rglob("*.py")):
            relative = path.relative_to(self.root)
            if SKIPPED_DIRS.intersection(relative.parts) or not path.is_file():
                continue
            if path.stat().st_size > MAX_BYTES or len(found) >= MAX_FILES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            found.append(Source(relative, text, src_layout))
        return found

    def source(self, relative: str) -> Source | None:
        wanted = Path(relative)
        return next((s for s in self.sources if s.path == wanted), None)

    def module(self, dotted: str) -> Source | None:
        """The file of a dotted module name, if it is in the project."""
        return next((s for s in self.sources if s.module == dotted), None)

    def text(self, relative: str) -> str | None:
        path = self.root / relative
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None


def call_name(node: ast.AST) -> str | None:
    """`Flask` for `Flask(...)` and `flask.Flask(...)`; None when not a call by name."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def string_arg(node: ast.Call, index: int = 0, keyword: str | None = None) -> str | None:
    """A literal string argument of a call, by position or keyword."""
    if keyword is not None:
        for kw in node.keywords:
            if kw.arg == keyword and isinstance(kw.value, ast.Constant):
                return kw.value.value if isinstance(kw.value.value, str) else None
    if len(node.args) > index and isinstance(node.args[index], ast.Constant):
        value = node.args[index].value  # type: ignore[attr-defined]
        return value if isinstance(value, str) else None
    return None
