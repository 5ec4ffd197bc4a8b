"""The two safe demo tools that `glm-chat --tools` binds: a clock and a calculator.

Neither touches the file system or the network, and the calculator never calls `eval`:
it walks the expression's syntax tree and allows only numbers and arithmetic operators.
"""

from __future__ import annotations

import ast
import math
import operator
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from langchain_core.tools import BaseTool, tool

MAX_EXPRESSION = 200
"""Longest expression the calculator accepts, in characters."""

MAX_DEPTH = 120
"""Deepest nesting of operations the calculator accepts (a sum of 100 terms is 99 deep)."""

MAX_DIGITS = 4000
"""Largest integer, in decimal digits, any step may produce (below Python's 4300-digit
limit for printing an int, https://docs.python.org/3/library/stdtypes.html#int-max-str-digits)."""

MAX_BITS = int(MAX_DIGITS * math.log2(10)) + 1
"""`MAX_DIGITS` in bits: the bound checked before each step."""

MAX_EXPONENT = 1000
"""Largest exponent allowed in `**` (with float operands too)."""

TIME_BUDGET = 0.05
"""Seconds one expression may take; checked between steps."""

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def calculate(expression: str, *, budget: float = TIME_BUDGET) -> int | float:
    """Evaluate an arithmetic expression safely (numbers, + - * / // % ** and parentheses).

    Safe by construction: the text is at most `MAX_EXPRESSION` characters and `MAX_DEPTH`
    deep; before each operation the size of its result is bounded from its operands' sizes
    and refused above `MAX_DIGITS`; and the whole evaluation stops after ``budget`` seconds.

    Args:
        expression: For example ``"17 * 23 + 4"``.
        budget: Seconds the evaluation may take.

    Returns:
        The value.

    Raises:
        ValueError: For every failure: too long, too deep, not arithmetic, division by zero,
            a result too large or not finite, or out of time.

    Example:
        ```python
        from langchain_glm.cli._tools import calculate

        assert calculate("17 * 23 + 4") == 395
        assert calculate("2 ** 0.5") > 1.41
        ```
    """
    return evaluate(expression, Evaluator(deadline=time.monotonic() + budget))


def evaluate(expression: str, evaluator: Evaluator) -> int | float:
    """`calculate` with a given `Evaluator`, which then tells the steps and sizes it took.

    Args:
        expression: The expression.
        evaluator: Counts the work, and has the deadline.

    Returns:
        The value.

    Raises:
        ValueError: See `calculate`.
    """
    if len(expression) > MAX_EXPRESSION:
        raise ValueError(f"expression longer than {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from exc
    try:
        return evaluator.value(tree.body, 0)
    except ZeroDivisionError as exc:
        raise ValueError("division by zero") from exc
    except OverflowError as exc:  # float ** float, or a huge int turned into a float
        raise ValueError("a number too large for a float") from exc


class Evaluator:
    """Walks an expression tree; counts its steps and the largest integer it made.

    Example:
        ```python
        import ast

        from langchain_glm.cli._tools import Evaluator

        evaluator = Evaluator(deadline=float("inf"))
        assert evaluator.value(ast.parse("2 ** 10 + 1", mode="eval").body, 0) == 1025
        assert (evaluator.steps, evaluator.peak_bits) == (5, 11)
        ```
    """

    def __init__(self, *, deadline: float) -> None:
        """Start counting.

        Args:
            deadline: Monotonic time after which a step is refused.
        """
        self.deadline = deadline
        self.steps = 0
        """Nodes evaluated so far."""
        self.peak_bits = 0
        """Bit length of the largest integer produced so far."""

    def value(self, node: ast.expr, depth: int) -> int | float:
        """Value of one allowed node; anything else is a ValueError.

        Args:
            node: The node.
            depth: How deep it is in the tree.

        Returns:
            Its value.

        Raises:
            ValueError: See `calculate`.
        """
        self._step(depth)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return self._checked(node.value)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return self._checked(_UNARY[type(node.op)](self.value(node.operand, depth + 1)))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left = self.value(node.left, depth + 1)
            right = self.value(node.right, depth + 1)
            _refuse_large(type(node.op), left, right)
            return self._checked(_BINARY[type(node.op)](left, right))
        allowed = "only numbers and + - * / // % ** are allowed"
        raise ValueError(f"{allowed}, not {ast.unparse(node)!r}")

    def _step(self, depth: int) -> None:
        self.steps += 1
        if depth > MAX_DEPTH:
            raise ValueError(f"expression nested deeper than {MAX_DEPTH} levels")
        if time.monotonic() >= self.deadline:
            raise ValueError("expression takes too long to compute")

    def _checked(self, value: object) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):  # (-8) ** 0.5
            raise ValueError("only real numbers are allowed")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("result is not a finite number")
        if isinstance(value, int):
            self.peak_bits = max(self.peak_bits, value.bit_length())
            if value.bit_length() > MAX_BITS:
                raise ValueError(f"a number larger than {MAX_DIGITS} digits")
        return value


def _refuse_large(op: type[ast.operator], left: int | float, right: int | float) -> None:
    """Refuse an operation whose result could exceed `MAX_BITS`, before computing it."""
    if op is ast.Pow:
        if abs(right) > MAX_EXPONENT:
            raise ValueError(f"exponent larger than {MAX_EXPONENT}")
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            bits = (abs(left).bit_length() - 1) * right + 1  # a lower bound of the result's
            if bits > MAX_BITS:
                raise ValueError(f"a number larger than {MAX_DIGITS} digits")
    elif op is ast.Mult and isinstance(left, int) and isinstance(right, int):  # noqa: SIM102
        if left.bit_length() + right.bit_length() > MAX_BITS + 1:  # exact: a*b has >= sum-1
            raise ValueError(f"a number larger than {MAX_DIGITS} digits")


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
