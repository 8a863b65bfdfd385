"""Success/failure conditions such as `result >= 0.95`: parsed once, evaluated without eval.

The grammar is deliberately tiny: the name `result`, numbers, comparisons (`<`, `<=`, `>`,
`>=`, `==`, `!=`, chained too), `and`/`or`/`not` (Argo's `&&`, `||`, `!` as well) and
parentheses. Python's parser only builds the tree; we walk it ourselves, so nothing in a
spec file can ever run code.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_LENGTH = 300  # bounds the parse tree: a condition is a line, not a program
_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_ARGO_OPERATORS = ((re.compile(r"&&"), " and "), (re.compile(r"\|\|"), " or "))
_ARGO_NOT = re.compile(r"!(?!=)")
_HELP = "use `result`, numbers, comparisons (< <= > >= == !=) and and/or/not"


class ConditionError(ValueError):
    """A condition is not in the allowed grammar."""


@dataclass(frozen=True)
class Condition:
    """A parsed condition over the measured value `result`."""

    text: str
    _tree: ast.expr = field(repr=False, compare=False)

    def evaluate(self, result: float) -> bool:
        """Whether the condition holds for `result`."""
        return _value(self._tree, result)


def parse_condition(text: str) -> Condition:
    """Parse `text` or raise ConditionError naming what is not allowed."""
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"condition is longer than {MAX_LENGTH} characters")
    source = text
    for pattern, replacement in _ARGO_OPERATORS:
        source = pattern.sub(replacement, source)
    source = _ARGO_NOT.sub(" not ", source)
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"cannot parse condition {text!r}: {exc.msg}; {_HELP}") from exc
    _check(tree.body, text)
    if not _is_boolean(tree.body):
        raise ConditionError(f"condition {text!r} must compare `result`, e.g. `result >= 0.95`")
    return Condition(text, tree.body)


def _check(node: ast.AST, text: str) -> None:
    """Accept boolean structure: and/or/not over comparisons of terms."""
    if isinstance(node, ast.BoolOp):
        for child in node.values:
            _check(child, text)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand, text)
    elif isinstance(node, ast.Compare):
        if not all(type(op) in _COMPARE for op in node.ops):
            raise ConditionError(f"condition {text!r}: only < <= > >= == != compare; {_HELP}")
        for term in (node.left, *node.comparators):
            _check_term(term, text)
    else:
        _check_term(node, text)  # a bare term is rejected later, with a clearer message


def _check_term(node: ast.AST, text: str) -> None:
    """Accept a compared value: `result`, a number, or either with a sign."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check_term(node.operand, text)
    elif isinstance(node, ast.Name):
        if node.id != "result":
            raise ConditionError(f"condition {text!r}: unknown name {node.id!r}; {_HELP}")
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ConditionError(f"condition {text!r}: {node.value!r} is not a number; {_HELP}")
    else:
        what = type(node).__name__
        raise ConditionError(f"condition {text!r}: {what} is not allowed; {_HELP}")


def _is_boolean(node: ast.expr) -> bool:
    if isinstance(node, ast.Compare):
        return True
    if isinstance(node, ast.BoolOp):
        return all(_is_boolean(v) for v in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _is_boolean(node.operand)
    return False


def _value(node: ast.expr, result: float) -> bool:
    """Evaluate a boolean tree that `_check` accepted."""
    if isinstance(node, ast.UnaryOp):  # `not`: the only unary operator above the terms
        return not _value(node.operand, result)
    if isinstance(node, ast.BoolOp):
        values = (_value(v, result) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if not isinstance(node, ast.Compare):
        raise TypeError(f"expected a comparison, got {type(node).__name__}")
    left = _term(node.left, result)
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        right = _term(comparator, result)
        if not _COMPARE[type(op)](left, right):
            return False
        left = right
    return True


def _term(node: ast.expr, result: float) -> float:
    """Evaluate a compared value that `_check_term` accepted."""
    if isinstance(node, ast.UnaryOp):
        operand = _term(node.operand, result)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    return result


def is_number(value: float | None) -> bool:
    """Whether `value` is a real measurement (not missing, not NaN)."""
    return value is not None and not math.isnan(value)
