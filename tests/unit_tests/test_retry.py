"""Tests for the pure retry policy (its step schedule) and Retry-After parsing."""

from __future__ import annotations

import ast
import inspect
from email.utils import formatdate

import pytest

from langchain_glm import _retry
from langchain_glm._errors import (
    GLMAPIError,
    GLMAuthenticationError,
    GLMConnectionError,
    GLMContentFilterError,
    GLMError,
    GLMInvalidRequestError,
    GLMQuotaExceededError,
    GLMRateLimitError,
    GLMTimeoutError,
    parse_retry_after,
)
from langchain_glm._retry import GiveUp, RetryPolicy, Send, Sleep, Step


def no_jitter() -> float:
    return 0.0


POLICY = RetryPolicy(
    max_retries=3, initial_delay=0.5, max_delay=8.0, max_retry_after=60.0, rand=no_jitter
)


def run_schedule(policy: RetryPolicy, errors: list[GLMError | None]) -> list[Step]:
    """Drive a schedule with the given outcomes (None = success) and record every step."""
    schedule = policy.schedule()
    steps: list[Step] = [next(schedule)]
    outcomes = iter(errors)
    try:
        while True:
            step = steps[-1]
            steps.append(
                next(schedule) if isinstance(step, Sleep) else schedule.send(next(outcomes))
            )
            if isinstance(steps[-1], GiveUp):
                return steps
    except StopIteration:
        return steps


@pytest.mark.parametrize(
    ("error", "attempt", "expected"),
    [
        (GLMRateLimitError("busy", code="1302"), 0, 0.5),
        (GLMAPIError("boom", status_code=500), 1, 1.0),
        (GLMConnectionError("refused"), 2, 2.0),
        (GLMTimeoutError("slow"), 0, 0.5),
        (GLMRateLimitError("busy"), 3, None),  # budget spent
        (GLMQuotaExceededError("pay up", code="1113", status_code=429), 0, None),
        (GLMAuthenticationError("bad key"), 0, None),
        (GLMInvalidRequestError("bad field"), 0, None),
        (GLMContentFilterError("unsafe"), 0, None),
    ],
)
def test_decision_table(error: GLMError, attempt: int, expected: float | None) -> None:
    assert POLICY.next_delay(error, attempt) == expected


def test_zero_retries_never_retries() -> None:
    assert RetryPolicy(max_retries=0).next_delay(GLMRateLimitError("x"), 0) is None


def test_retry_after_wins_over_backoff() -> None:
    error = GLMRateLimitError("busy", retry_after=3.5)
    assert POLICY.next_delay(error, 2) == 3.5


@pytest.mark.parametrize(("rand", "expected"), [(0.0, 4.0), (0.5, 4.5), (0.999, 4.999)])
def test_retry_after_gets_up_to_a_quarter_more(rand: float, expected: float) -> None:
    policy = RetryPolicy(rand=lambda: rand)
    delay = policy.next_delay(GLMRateLimitError("busy", retry_after=4.0), 0)
    assert delay == pytest.approx(expected)


def test_retry_after_longer_than_the_cap_gives_up_at_once() -> None:
    error = GLMRateLimitError("busy", retry_after=3600.0)
    assert POLICY.next_delay(error, 0) is None
    assert run_schedule(POLICY, [error]) == [Send(0), GiveUp()]
    assert error.retry_after == 3600.0  # the caller can decide to wait that long


def test_retry_after_does_not_make_non_retryable_retryable() -> None:
    error = GLMQuotaExceededError("pay up", retry_after=1.0)
    assert POLICY.next_delay(error, 0) is None


def test_backoff_grows_then_caps() -> None:
    policy = RetryPolicy(max_retries=10, initial_delay=0.5, max_delay=8.0, rand=no_jitter)
    delays = [policy.next_delay(GLMAPIError("x"), n) for n in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


@pytest.mark.parametrize(("rand", "expected"), [(0.0, 4.0), (0.5, 3.5), (0.999999, 3.000001)])
def test_jitter_bounds(rand: float, expected: float) -> None:
    delay = RetryPolicy(max_retries=5, rand=lambda: rand).next_delay(GLMAPIError("x"), 3)
    assert delay is not None
    assert delay == pytest.approx(expected)
    assert 0.75 * 4.0 < delay <= 4.0


def test_plan_sends_sleeps_and_gives_up() -> None:
    busy = GLMRateLimitError("busy", retry_after=0.25)
    steps = run_schedule(POLICY, [busy, GLMAPIError("boom"), GLMConnectionError("refused"), busy])
    assert steps == [
        Send(0),
        Sleep(0.25),
        Send(1),
        Sleep(1.0),
        Send(2),
        Sleep(2.0),
        Send(3),
        GiveUp(),
    ]


def test_plan_ends_on_success_and_on_a_non_retryable_error() -> None:
    assert run_schedule(POLICY, [None]) == [Send(0)]
    assert run_schedule(POLICY, [GLMAPIError("x"), None]) == [Send(0), Sleep(0.5), Send(1)]
    assert run_schedule(POLICY, [GLMAuthenticationError("bad key")]) == [Send(0), GiveUp()]
    not_resendable = GLMTimeoutError("read timed out", retryable=False)
    assert run_schedule(POLICY, [not_resendable]) == [Send(0), GiveUp()]


def test_the_policy_does_not_import_the_error_table() -> None:
    # `_errors` used to import `_retry` and `_retry` `_errors`: the policy now reads errors
    # only through the `Failure` protocol.
    tree = ast.parse(inspect.getsource(_retry))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not any(name.startswith("langchain_glm") for name in imported)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "20", "retry-after": "9"}, 0.02),
        ({"retry-after-ms": "junk", "retry-after": "9"}, 9.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-3"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": ""}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date() -> None:
    now = 1_760_000_000.0
    headers = {"Retry-After": formatdate(now + 30, usegmt=True)}
    assert parse_retry_after(headers, now=lambda: now) == 30.0


def test_parse_retry_after_http_date_in_the_past_is_zero() -> None:
    now = 1_760_000_000.0
    headers = {"Retry-After": formatdate(now - 30, usegmt=True)}
    assert parse_retry_after(headers, now=lambda: now) == 0.0
