"""Tests for the pure retry policy and Retry-After parsing."""

from __future__ import annotations

from email.utils import formatdate

import pytest

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
)
from langchain_glm._retry import RetryPolicy, parse_retry_after

POLICY = RetryPolicy(max_retries=3, initial_delay=0.5, max_delay=8.0, max_retry_after=60.0)


def no_jitter() -> float:
    return 0.0


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
    assert POLICY.next_delay(error, attempt, rand=no_jitter) == expected


def test_zero_retries_never_retries() -> None:
    assert RetryPolicy(max_retries=0).next_delay(GLMRateLimitError("x"), 0) is None


def test_retry_after_wins_over_backoff() -> None:
    error = GLMRateLimitError("busy", retry_after=3.5)
    assert POLICY.next_delay(error, 2, rand=no_jitter) == 3.5


def test_retry_after_is_capped() -> None:
    error = GLMRateLimitError("busy", retry_after=3600.0)
    assert POLICY.next_delay(error, 0) == 60.0


def test_retry_after_does_not_make_non_retryable_retryable() -> None:
    error = GLMQuotaExceededError("pay up", retry_after=1.0)
    assert POLICY.next_delay(error, 0) is None


def test_backoff_grows_then_caps() -> None:
    policy = RetryPolicy(max_retries=10, initial_delay=0.5, max_delay=8.0)
    delays = [policy.next_delay(GLMAPIError("x"), n, rand=no_jitter) for n in range(7)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


@pytest.mark.parametrize(("rand", "expected"), [(0.0, 4.0), (0.5, 3.5), (0.999999, 3.000001)])
def test_jitter_bounds(rand: float, expected: float) -> None:
    delay = RetryPolicy(max_retries=5).next_delay(GLMAPIError("x"), 3, rand=lambda: rand)
    assert delay is not None
    assert delay == pytest.approx(expected)
    assert 0.75 * 4.0 < delay <= 4.0


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
