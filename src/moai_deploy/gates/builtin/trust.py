"""TRUST 5 Readable: file and function size, parameters, cyclomatic complexity.

How things are counted (so a number here means the same as in a review):
- file lines: physical lines, as `wc -l` counts them (blank lines and comments included);
- function lines: from the `def` line to the function's last line (decorators excluded,
  docstring included);
- parameters: named parameters, positional and keyword-only; `self`/`cls` of a method,
  `*args` and `**kwargs` are not counted;
- complexity: McCabe's cyclomatic complexity as the `mccabe` package computes it, the
  same number ruff's C901 checks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from importlib import metadata
from typing import ClassVar

from moai_deploy.gates.base import BaseGate, GateContext
from moai_deploy.gates.model import Finding, GateResult
from moai_deploy.gates.tools import ToolMissingError
from moai_deploy.spec.gates import TrustGateSettings

Function = ast.FunctionDef | ast.AsyncFunctionDef


class TrustGate(BaseGate):
    name: ClassVar[str] = "trust"
    description: ClassVar[str] = "TRUST 5 Readable (size, parameters, complexity)"
    inputs: ClassVar[tuple[str, ...]] = ("*.py",)
    tool: ClassVar[str | None] = None  # runs in-process; mccabe's version is in the key

    def cache_parts(self) -> tuple[str, ...]:
        try:
            return ("mccabe", metadata.version("mccabe"))
        except metadata.PackageNotFoundError:
            return ("mccabe", "missing")

    def run(self, ctx: GateContext) -> GateResult:
        opts = ctx.options(TrustGateSettings)
        default = ["src"] if (ctx.project_dir / "src").is_dir() else ["."]
        files = ctx.files_in(ctx.target_paths(default), ".py")
        if opts.paths is None and default == ["."]:
            files = tuple(f for f in files if not _is_test(f))
        findings = [finding for path in files for finding in check_file(ctx, path, opts)]
        findings.sort(key=lambda f: (f.file or "", f.line or 0))
        return ctx.result(self.name, findings, note=f"{len(files)} Python file(s) checked")


def _is_test(path: str) -> bool:
    parts = path.split("/")
    return "tests" in parts[:-1] or "test" in parts[:-1] or parts[-1].startswith("test_")


def check_file(ctx: GateContext, path: str, opts: TrustGateSettings) -> Iterator[Finding]:
    """Every TRUST Readable limit one file exceeds."""
    text = (ctx.project_dir / path).read_text(encoding="utf-8", errors="replace")
    lines = len(text.splitlines())
    if lines > opts.max_file_lines:
        yield Finding(path, 1, "file-too-long", f"{lines} lines (limit {opts.max_file_lines})")
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        yield Finding(path, exc.lineno, "syntax-error", f"cannot parse: {exc.msg}")
        return
    for node, is_method in _functions(tree):
        yield from _check_function(path, node, is_method, opts)
    yield from _complexity(path, tree, opts.max_complexity)


def _functions(tree: ast.AST) -> Iterator[tuple[Function, bool]]:
    """Every function, and whether it is a method (its first parameter is self/cls)."""
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, Function):
                static = any(_is_name(d, "staticmethod") for d in child.decorator_list)
                yield child, isinstance(parent, ast.ClassDef) and not static


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _check_function(
    path: str, node: Function, is_method: bool, opts: TrustGateSettings
) -> Iterator[Finding]:
    length = (node.end_lineno or node.lineno) - node.lineno + 1
    if length > opts.max_function_lines:
        message = f"function {node.name} is {length} lines (limit {opts.max_function_lines})"
        yield Finding(path, node.lineno, "function-too-long", message)
    args = node.args
    count = len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)
    if is_method and (args.posonlyargs or args.args):
        count -= 1
    if count > opts.max_parameters:
        message = f"function {node.name} has {count} parameters (limit {opts.max_parameters})"
        yield Finding(path, node.lineno, "too-many-parameters", message)


def _complexity(path: str, tree: ast.AST, limit: int) -> Iterator[Finding]:
    try:
        import mccabe  # type: ignore[import-untyped]  # ships no type information
    except ImportError:
        raise ToolMissingError("mccabe") from None
    visitor = mccabe.PathGraphingAstVisitor()
    visitor.preorder(tree, visitor)
    for graph in visitor.graphs.values():
        score = graph.complexity()
        if score > limit:
            name = str(graph.entity).split(" ")[0]
            message = f"{name} has cyclomatic complexity {score} (limit {limit})"
            yield Finding(path, int(graph.lineno), "too-complex", message)
