"""The demo tools: a safe calculator (no eval) and a clock; plus the CLI docstring examples."""

from __future__ import annotations

import inspect
import math
import re
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_glm.cli import _args, _messages, _render, _tools
from langchain_glm.cli._tools import (
    MAX_BITS,
    MAX_EXPRESSION,
    Evaluator,
    calculate,
    calculator,
    clock,
    evaluate,
)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("17 * 23 + 4", 395),
        ("(1 + 2) * -3", -9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("7 % 4", 3),
        ("2 ** 10", 1024),
        ("+1.5", 1.5),
    ],
)
def test_calculator_does_arithmetic(expression: str, value: float) -> None:
    assert calculate(expression) == value
    assert calculator.invoke({"expression": expression}) == str(value)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('echo hi')", "only numbers"),
        ("open('/etc/passwd')", "only numbers"),
        ("x + 1", "only numbers"),
        ("'a' * 3", "only numbers"),
        ("True + 1", "only numbers"),
        ("1 < 2", "only numbers"),
        ("2 ** 100000", "exponent larger than 1000"),
        ("1 / 0", "division by zero"),
        ("1 +", "not an arithmetic expression"),
        ("1" * (MAX_EXPRESSION + 1), "longer than"),
    ],
)
def test_calculator_refuses_anything_else(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calculate(expression)


def test_clock_tells_the_time_in_a_zone() -> None:
    stamp = datetime.fromisoformat(clock.invoke({"timezone": "Asia/Shanghai"}))
    assert stamp.utcoffset() is not None
    assert stamp.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
    assert datetime.fromisoformat(clock.invoke({})).utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd"])
def test_clock_refuses_unknown_zones(zone: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        clock.invoke({"timezone": zone})


def test_tool_schemas_are_what_the_model_sees() -> None:
    assert calculator.args == {"expression": {"title": "Expression", "type": "string"}}
    assert "timezone" in clock.args
    assert "17 * 23 + 4" in calculator.description


_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
_OWNERS: list[Any] = [
    _tools.calculate,
    _render.TurnView,
    _render.usage_line,
    _render.PlainWriter,
    _messages.error_line,
    _args.parse_args,
]


@pytest.mark.parametrize("owner", _OWNERS, ids=lambda o: o.__qualname__)
def test_docstring_examples_run(owner: Any) -> None:
    blocks = _BLOCK.findall(inspect.getdoc(owner) or "")
    assert blocks, f"{owner.__qualname__} has no example"
    for block in blocks:
        exec(compile(inspect.cleandoc(block), owner.__qualname__, "exec"), {})  # noqa: S102


# Expressions as an attacker writes them: huge literals, towers of powers, deep nesting,
# floats at the edge of overflow, long chains; plus any text over the calculator's alphabet.
_ATOMS = st.sampled_from(["9", "99", "9" * 60, "2", "0", "-1", "1e308", "2.0", "0.5", "7"])
_OPS = st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "**", "**"])


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 6 or draw(st.booleans()):
        return draw(_ATOMS)
    left, right = draw(_expressions(depth + 1)), draw(_expressions(depth + 1))
    form = draw(st.sampled_from(["{l}{o}{r}", "({l}){o}({r})", "-({l})", "(({l}{o}{r}))"]))
    return form.format(l=left, o=draw(_OPS), r=right)


_TEXT = st.text(alphabet="0123456789.+-*/%() e", max_size=MAX_EXPRESSION)


@settings(max_examples=250, deadline=None, derandomize=True, database=None)
@given(st.one_of(_expressions(), _TEXT).filter(lambda e: len(e) <= MAX_EXPRESSION))
def test_calculator_is_bounded_for_any_short_expression(expression: str) -> None:
    """No expression of <= 200 characters raises anything but ValueError, and its work is
    bounded by counting rather than by a clock: at most one step per character, and no
    integer larger than MAX_DIGITS digits is ever made (the bound is checked before each
    operation), so no step costs more than arithmetic on 4,000-digit numbers."""
    evaluator = Evaluator(deadline=math.inf)  # no clock: the bounds alone must hold
    try:
        value = evaluate(expression, evaluator)
    except ValueError:
        value = None
    assert value is None or type(value) in (int, float)
    assert evaluator.steps <= MAX_EXPRESSION
    assert evaluator.peak_bits <= MAX_BITS


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("((9**999)**999)**999", "larger than 4000 digits"),
        ("9**999*9**999*9**999*9**999*9**999", "larger than 4000 digits"),
        ("(2.0**1000)**2", "too large for a float"),
        ("1e308 * 10", "not a finite number"),
        ("(-8) ** 0.5", "only real numbers"),
        ("-" * 150 + "1", "nested deeper than"),
        ("(" * 99 + "1" + ")" * 99 + "+", "not an arithmetic expression"),
    ],
)
def test_calculator_refuses_what_would_hang_or_overflow(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calculate(expression)


def test_calculator_time_budget_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="takes too long"):
        calculate("1 + 1", budget=0.0)
