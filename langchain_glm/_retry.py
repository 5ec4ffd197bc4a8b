"""Pure retry policy: whether to retry a failed request, and how long to wait first.

No I/O and no sleeping happen here; `GLMClient` asks `RetryPolicy.next_delay` and sleeps itself.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_glm._errors import GLMError

_JITTER = 0.25
"""Backoff delays are shortened by a random fraction of up to this much."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to re-send a request that failed while opening.

    Attributes:
        max_retries: Retries after the first attempt (0 disables retrying).
        initial_delay: Backoff before the first retry, in seconds; doubles on each retry.
        max_delay: Upper bound of the exponential backoff, in seconds.
        max_retry_after: Upper bound applied to a server's `Retry-After`, in seconds.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def next_delay(
        self, error: GLMError, attempt: int, rand: Callable[[], float] = random.random
    ) -> float | None:
        """Return the seconds to wait before retrying, or None to give up.

        Args:
            error: The error the last attempt failed with.
            attempt: Retries already made (0 after the first failure).
            rand: Source of jitter in [0, 1); injectable for tests.

        Returns:
            None when the error is not retryable or the retry budget is spent; otherwise the
            server's `Retry-After` (capped at `max_retry_after`) or exponential backoff with jitter.
        """
        if not error.is_retryable or attempt >= self.max_retries:
            return None
        if error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        backoff = min(self.initial_delay * 2.0**attempt, self.max_delay)
        return backoff * (1 - _JITTER * rand())


def parse_retry_after(
    headers: Mapping[str, str], now: Callable[[], float] = time.time
) -> float | None:
    """Read the server's requested wait from `retry-after-ms` or `retry-after` headers.

    Args:
        headers: Response headers (any case).
        now: Clock in epoch seconds, used for the HTTP-date form; injectable for tests.

    Returns:
        Seconds to wait (never negative), or None if absent or unparseable.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    if (millis := _number(lowered.get("retry-after-ms"))) is not None:
        return millis / 1000
    value = lowered.get("retry-after")
    if value is None:
        return None
    if (seconds := _number(value)) is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def _number(value: str | None) -> float | None:
    """Parse a non-negative finite number, or return None."""
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and 0 <= number < float("inf") else None
