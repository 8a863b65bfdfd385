"""Success/failure conditions: the accepted grammar, its meaning, and what is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moai_deploy.analysis.conditions import ConditionError, parse_condition


@pytest.mark.parametrize(
    ("text", "result", "expected"),
    [
        ("result >= 0.95", 0.95, True),
        ("result >= 0.95", 0.9499, False),
        ("result <= 0.5", 0.5, True),
        ("result < 0.5", 0.5, False),
        ("result > -1", -0.5, True),
        ("result == 0", 0.0, True),
        ("result != 0", 0.0, False),
        ("0.9 <= result < 1", 0.95, True),  # chained, like Python
        ("0.9 <= result < 1", 1.0, False),
        ("result >= 0.9 and result <= 1", 0.95, True),
        ("result < 0.1 or result > 0.9", 0.5, False),
        ("not (result > 0.5)", 0.4, True),
        ("result >= 0.9 && result <= 1", 0.95, True),  # Argo's spelling
        ("result < 0.1 || result > 0.9", 0.95, True),
        ("!(result > 0.5)", 0.6, False),
        ("!(result != 1)", 1.0, True),  # `!=` is not mistaken for `!`
        ("(result >= 1e-3)", 0.01, True),
    ],
)
def test_conditions_mean_what_they_say(text: str, result: float, expected: bool) -> None:
    assert parse_condition(text).evaluate(result) is expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("__import__('os')", "Call is not allowed"),
        ("__import__('os').system('true') or result > 0", "Call is not allowed"),
        ("result.__class__ == 1", "Attribute is not allowed"),
        ("os >= 1", "unknown name 'os'"),
        ("result >= '1'", "'1' is not a number"),
        ("result >= True", "True is not a number"),
        ("result * 100 >= 95", "BinOp is not allowed"),
        ("[result][0] > 1", "Subscript is not allowed"),
        ("result in (1, 2)", "only < <= > >= == != compare"),
        ("result is 1", "only < <= > >= == != compare"),
        ("lambda: 1", "Lambda is not allowed"),
        ("result", "must compare `result`"),
        ("not result", "must compare `result`"),
        ("result > 1 and 2", "must compare `result`"),
        ("result >=", "cannot parse condition"),
        ("result >= 1; import os", "cannot parse condition"),
    ],
)
def test_anything_else_is_refused_with_a_clear_error(text: str, complaint: str) -> None:
    with pytest.raises(ConditionError, match=complaint) as caught:
        parse_condition(text)
    assert "use `result`, numbers" in str(caught.value) or "must compare" in str(caught.value)


def test_overlong_conditions_are_refused() -> None:
    with pytest.raises(ConditionError, match="longer than"):
        parse_condition("result > 0 and " * 40 + "result > 0")


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(-1e6, 1e6))
def test_threshold_conditions_match_python_comparisons(result: float, threshold: float) -> None:
    assert parse_condition(f"result >= {threshold!r}").evaluate(result) is (result >= threshold)
    assert parse_condition(f"not (result < {threshold!r})").evaluate(result) is (
        result >= threshold
    )
