"""Pure retry policy: one step generator that says send, sleep or give up.

No I/O and no sleeping happen here. `GLMClient` has two thin drivers (sync and async) that
run `RetryPolicy.schedule()`: they send on `Send`, wait on `Sleep`, and raise the last error on
`GiveUp`. Because the decisions are plain values, a test can read the exact waits.

The policy knows errors only through `Failure` (`is_retryable`, `retry_after`), so it does not
import the error table (no `_errors` <-> `_retry` cycle).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Protocol

_BACKOFF_JITTER = 0.25
"""Backoff delays are shortened by a random fraction of up to this much."""

_RETRY_AFTER_JITTER = 0.25
"""A server's `Retry-After` is lengthened by a random fraction of up to this much, so that
many clients told to wait the same time do not come back at the same instant."""


class Failure(Protocol):
    """What the policy reads from an error (every `GLMError` has both)."""

    @property
    def is_retryable(self) -> bool:
        """Whether re-sending the request may succeed and is safe."""

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait, if it said."""


@dataclass(frozen=True)
class Send:
    """Send the request (attempt 0 is the first send)."""

    attempt: int


@dataclass(frozen=True)
class Sleep:
    """Wait this many seconds before the next `Send`."""

    seconds: float


@dataclass(frozen=True)
class GiveUp:
    """Stop: the driver raises the error the last attempt failed with."""


Step = Send | Sleep | GiveUp
RetrySchedule = Generator[Step, Failure | None, None]
"""A retry schedule: yields steps; after a `Send` the driver sends back the attempt's error (or
None on success, which ends the schedule)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to re-send a request that failed before any answer.

    Attributes:
        max_retries: Retries after the first attempt (0 disables retrying).
        initial_delay: Backoff before the first retry, in seconds; doubles on each retry.
        max_delay: Upper bound of the exponential backoff, in seconds.
        max_retry_after: Longest `Retry-After` the client waits for. When the server asks
            for longer, the schedule gives up at once and the error carries `retry_after`.
        rand: Source of jitter in [0, 1); injectable for tests.
        sleep: How the sync driver waits (`time.sleep`); injectable for tests.
        asleep: How the async driver waits (`asyncio.sleep`); injectable for tests.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    rand: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    sleep: Callable[[float], object] = field(default=time.sleep, repr=False, compare=False)
    asleep: Callable[[float], Awaitable[object]] = field(
        default=asyncio.sleep, repr=False, compare=False
    )

    def next_delay(self, error: Failure, attempt: int) -> float | None:
        """Return the seconds to wait before retrying, or None to give up.

        Args:
            error: The error the last attempt failed with.
            attempt: Retries already made (0 after the first failure).

        Returns:
            None when the error is not retryable, the budget is spent, or the server's
            `Retry-After` exceeds `max_retry_after`; else the server's `Retry-After` plus up
            to 25% jitter, or exponential backoff minus up to 25% jitter.
        """
        if not error.is_retryable or attempt >= self.max_retries:
            return None
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            return error.retry_after * (1 + _RETRY_AFTER_JITTER * self.rand())
        backoff = min(self.initial_delay * 2.0**attempt, self.max_delay)
        return backoff * (1 - _BACKOFF_JITTER * self.rand())

    def schedule(self) -> RetrySchedule:
        """The step generator the client's drivers obey.

        Yields:
            `Send(n)`, then after each failure sent back either `Sleep(seconds)` followed by
            the next `Send`, or `GiveUp`.
        """
        attempt = 0
        while True:
            error = yield Send(attempt)
            if error is None:
                return
            delay = self.next_delay(error, attempt)
            if delay is None:
                yield GiveUp()
                return
            yield Sleep(delay)
            attempt += 1
