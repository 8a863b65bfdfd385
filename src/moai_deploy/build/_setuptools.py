"""Dependencies a setuptools project declares: `install_requires` / `extras_require` in
setup.cfg, or as literals in setup.py (read with ast, never executed)."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path

DEV_EXTRAS = ("dev", "test", "tests", "testing")


def _cfg(path: Path, dev: bool) -> list[str]:
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
    except configparser.Error:
        return []
    if dev:
        extras = parser["options.extras_require"] if parser.has_section(
            "options.extras_require") else {}  # fmt: skip
        text = "\n".join(extras.get(name, "") for name in DEV_EXTRAS)
    else:
        text = parser.get("options", "install_requires", fallback="")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _literal_strings(node: ast.expr | None) -> list[str]:
    if isinstance(node, ast.List | ast.Tuple):
        return [
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    return []


def _py(path: Path, dev: bool) -> list[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, ValueError):
        return []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setup"):
            continue
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if not dev:
            return _literal_strings(keywords.get("install_requires"))
        extras = keywords.get("extras_require")
        if isinstance(extras, ast.Dict):
            return [
                req
                for key, value in zip(extras.keys, extras.values, strict=True)
                if isinstance(key, ast.Constant) and key.value in DEV_EXTRAS
                for req in _literal_strings(value)
            ]
    return []


def setuptools_requirements(project: Path, *, dev: bool = False) -> list[str]:
    """setup.cfg's declaration when it has one, else setup.py's literal one."""
    cfg, py = project / "setup.cfg", project / "setup.py"
    found = _cfg(cfg, dev) if cfg.is_file() else []
    if not found and py.is_file():
        found = _py(py, dev)
    return found
