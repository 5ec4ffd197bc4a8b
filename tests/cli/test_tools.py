"""The demo tools: a safe calculator (no eval) and a clock; plus the CLI docstring examples."""

from __future__ import annotations

import inspect
import re
from datetime import datetime
from typing import Any

import pytest

from langchain_glm.cli import _args, _messages, _render, _tools
from langchain_glm.cli._tools import MAX_EXPRESSION, calculate, calculator, clock


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
