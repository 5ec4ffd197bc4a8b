"""The two safe demo tools that `glm-chat --tools` binds: a clock and a calculator.

Neither touches the file system or the network, and the calculator never calls `eval`:
it walks the expression's syntax tree and allows only numbers and arithmetic operators.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from langchain_core.tools import BaseTool, tool

MAX_EXPRESSION = 200
"""Longest expression the calculator accepts, in characters."""

MAX_EXPONENT = 1000
"""Largest exponent allowed in `**`, so that no expression can take long to compute."""

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def calculate(expression: str) -> int | float:
    """Evaluate an arithmetic expression safely (numbers, + - * / // % ** and parentheses).

    Args:
        expression: For example ``"17 * 23 + 4"``.

    Returns:
        The value.

    Raises:
        ValueError: If the expression is too long, is not arithmetic, divides by zero or
            uses an exponent above `MAX_EXPONENT`.

    Example:
        ```python
        from langchain_glm.cli._tools import calculate

        assert calculate("17 * 23 + 4") == 395
        assert calculate("2 ** 0.5") > 1.41
        ```
    """
    if len(expression) > MAX_EXPRESSION:
        raise ValueError(f"expression longer than {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from exc
    try:
        return _value(tree.body)
    except ZeroDivisionError as exc:
        raise ValueError("division by zero") from exc


def _value(node: ast.expr) -> int | float:
    """Value of one allowed node; anything else is a ValueError."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value  # type: ignore[return-value]  # int or float, checked just above
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ValueError(f"exponent larger than {MAX_EXPONENT}")
        return _BINARY[type(node.op)](left, right)
    raise ValueError(f"only numbers and + - * / // % ** are allowed, not {ast.unparse(node)!r}")


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as "17 * 23 + 4" and return the exact result.

    Args:
        expression: Numbers, parentheses and the operators + - * / // % **.
    """
    return str(calculate(expression))


@tool
def clock(timezone: str = "UTC") -> str:
    """Return the current date and time in an IANA time zone, such as "Europe/Rome".

    Args:
        timezone: IANA time-zone name; "UTC" when not given.
    """
    try:
        zone = ZoneInfo(timezone.strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {timezone!r}; use a name like 'Europe/Rome'") from exc
    return datetime.now(zone).isoformat(timespec="seconds")


DEMO_TOOLS: tuple[BaseTool, ...] = (calculator, clock)
"""The tools `--tools` binds, in the order they are offered to the model."""
