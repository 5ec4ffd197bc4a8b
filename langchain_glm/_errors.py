"""GLM error classes and the table that maps (HTTP status, business code) to them.

Every class also subclasses the matching `langchain_core.exceptions` class, so callers can catch
either `GLMRateLimitError` or core's `ModelRateLimitError`, and `is_retryable` comes from core.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

MIN_SECRET = 8
"""Secrets shorter than this are not redacted: replacing every "t" of a message would garble
it ("mus*** be be***ween"), and a key that short is no real key."""


class GLMError(ModelError):
    """Base class of every error raised by langchain-glm.

    Attributes:
        message: Human-readable reason (from the server, or ours).
        status_code: HTTP status, or None when no response was received or inside a stream.
        code: GLM business code as a string (e.g. "1302"), or None.
        request_id: Request id reported by the server, or None.
        retry_after: Seconds the server asked to wait (from headers), or None.
        is_retryable: Whether re-sending may succeed and is safe. Defaults to the class's
            (from `langchain_core`); False for failures after the request was fully sent,
            such as read timeouts and dropped connections, because GLM may be generating
            (and billing) the answer.
        job_id: The Batch API job the error belongs to (resume it with
            `ChatGLM.batch_retrieve`), or None outside the Batch API.
        custom_id: The Batch API result line the error stands for, or None.
    """

    job_id: str | None = None
    custom_id: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        if retryable is not None:
            self.is_retryable = retryable

    def redact(self, secrets: Iterable[str]) -> GLMError:
        """Remove secrets (the API key) that a server echoed into the message.

        Args:
            secrets: The texts to hide; those shorter than `MIN_SECRET` are left alone.

        Returns:
            This error, with every occurrence replaced by `***`.
        """
        self.message = redact(self.message, secrets)
        self.request_id = None if self.request_id is None else redact(self.request_id, secrets)
        self.args = (self.message,)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """Copy and pickle every subclass faithfully, whatever its `__init__` requires.

        The default rebuilds an exception as `cls(*args)`, which fails for the errors whose
        `__init__` takes required keywords (`BatchFailedError`, `BatchTimeoutError`).
        """
        return _restore, (type(self), self.args), vars(self)

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        status = f" (HTTP {self.status_code})" if self.status_code is not None else ""
        request = f" [request_id={self.request_id}]" if self.request_id else ""
        return f"GLM error{code}{status}: {self.message}{request}"


def _restore(cls: type[GLMError], args: tuple[Any, ...]) -> GLMError:
    """An error of `cls` with `args`, its attributes set afterwards (see `__reduce__`)."""
    error = cls.__new__(cls, *args)
    error.args = args
    return error


class GLMAuthenticationError(GLMError, ModelAuthenticationError):
    """Missing, invalid or expired API key (HTTP 401, codes 1000-1004)."""


class GLMPermissionDeniedError(GLMError, ModelPermissionDeniedError):
    """The key may not use this API or model (HTTP 403/434, code 1220)."""


class GLMInvalidRequestError(GLMError, ModelInvalidRequestError):
    """The server rejected the request parameters (HTTP 400, codes 1210-1215)."""


class GLMNotFoundError(GLMError, ModelNotFoundError):
    """Unknown model or endpoint (HTTP 404, code 1211)."""


class GLMRateLimitError(GLMError, ModelRateLimitError):
    """Transient concurrency or frequency limit (codes 1302, 1303, 1305, 1312); retryable."""


class GLMQuotaExceededError(GLMError, ModelRateLimitError):
    """Balance, daily or plan quota exhausted (1113 arrives as HTTP 429); not retryable."""

    is_retryable = False


class GLMContextOverflowError(GLMError, ContextOverflowError):
    """The prompt is longer than the model's context window (code 1261)."""


class GLMContentFilterError(GLMError, ModelInvalidRequestError):
    """Input or output was blocked as unsafe content (code 1301)."""


class GLMAPIError(GLMError, ModelAPIError):
    """Server failure (5xx, codes 500/1234), unreadable error page or malformed stream frame."""


class GLMConnectionError(GLMError, ModelConnectionError):
    """The server could not be reached, or the connection broke mid-stream."""


class GLMTimeoutError(GLMError, ModelTimeoutError):
    """The request timed out (httpx timeouts, HTTP 408, the reply's time budget)."""


# ------------------------------------------------------------------ Batch API errors
# (https://docs.bigmodel.cn/cn/guide/tools/batch)


class BatchFailedError(GLMInvalidRequestError):
    """GLM rejected a batch file (status `failed`); the message is GLM's reason.

    Attributes:
        batch_id: The batch that failed validation.
    """

    def __init__(self, message: str, *, batch_id: str) -> None:
        super().__init__(message)
        self.batch_id = batch_id


class BatchItemMissingError(GLMAPIError):
    """A request has no result line: its batch expired or was cancelled before running it."""


class BatchIntegrityError(GLMAPIError):
    """A result line that cannot be trusted to belong to its input, so it is refused.

    Raised for (or put in the slot of) a `custom_id` answered twice, answered both in the
    output and in the error file, or not sent by this job; `custom_id` names the line.
    """

    is_retryable = False


class BatchTimeoutError(GLMTimeoutError):
    """`BatchJob.wait` gave up after the user's `timeout`; the job runs on (resume by id)."""

    def __init__(self, message: str, *, job_id: str) -> None:
        super().__init__(message)
        self.job_id = job_id


class GLMBatchCleanupWarning(UserWarning):
    """A Batch API file could not be deleted after its results were handed back."""


def for_batch_job(error: GLMError, job_id: str) -> GLMError:
    """Tag an error with its Batch API job: set `job_id` and name the job in the message.

    Args:
        error: The error (changed in place).
        job_id: The job's id, as `ChatGLM.batch_retrieve` takes it.

    Returns:
        The same error.
    """
    if error.job_id is None:
        error.job_id = job_id
    if job_id not in error.message:
        error.message = f"{error.message} (batch job {job_id})"
        error.args = (error.message,)
    return error


MALFORMED = "GLM sent a malformed response"
"""Start of the message of every error about a response we could not read."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret of `MIN_SECRET` or more characters in `text` by `***`."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET and secret in text:
            text = text.replace(secret, "***")
    return text


def malformed(detail: str, *, status: int | None = None) -> GLMAPIError:
    """The error for a response we cannot read (never retried: GLM may have billed it)."""
    return GLMAPIError(f"{MALFORMED}: {detail}", status_code=status, retryable=False)


def inference_failed() -> GLMAPIError:
    """The retryable error for `finish_reason: "network_error"` (GLM: inference failed).

    GLM documents it as a server-side failure (https://docs.z.ai/api-reference/llm/chat-completion),
    so it is retried like a 5xx while nothing was handed out.
    """
    return GLMAPIError(
        "GLM reported that inference failed mid-answer (finish_reason='network_error'); "
        "the answer is incomplete"
    )


_CODES: dict[type[GLMError], str] = {
    GLMAuthenticationError: "1000 1001 1002 1003 1004",
    GLMPermissionDeniedError: "1220",
    GLMInvalidRequestError: "1210 1212 1213 1214 1215",
    GLMNotFoundError: "1211",
    GLMRateLimitError: "1302 1303 1305 1312",
    GLMQuotaExceededError: "1113 1304 1308 1309 1310 1311 1313",
    GLMContextOverflowError: "1261",
    GLMContentFilterError: "1301",
    GLMAPIError: "500 1234",
}
_BY_CODE = {code: cls for cls, codes in _CODES.items() for code in codes.split()}
_BY_STATUS: dict[int, type[GLMError]] = {
    400: GLMInvalidRequestError,
    401: GLMAuthenticationError,
    403: GLMPermissionDeniedError,
    404: GLMNotFoundError,
    408: GLMTimeoutError,
    429: GLMRateLimitError,
    434: GLMPermissionDeniedError,
}


def _class_for(status: int | None, code: str | None) -> type[GLMError]:
    """Pick the class: business code first, then status, then 4xx/other fallbacks."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return GLMInvalidRequestError if status and 400 <= status < 500 else GLMAPIError


_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""What a terminal or log reader acts on instead of showing: C0 and C1 controls (ESC starts
an escape sequence, even newline can forge a log line), DEL, the bidi marks, embeddings,
overrides and isolates that reorder what is shown, and lone surrogates (they cannot even be
written out as UTF-8)."""


def printable(text: str) -> str:
    r"""Server text made safe to show: each unsafe character escaped visibly (`\x1b`, `\n`).

    Every server-controlled string put into an error message (message, code, request id,
    excerpts of bodies) goes through this, since exceptions reach terminals and logs.

    Example:
        >>> print(printable("bad\x1b[2Jkey\nOK \u202egnp.exe"))
        bad\x1b[2Jkey\nOK \u202egnp.exe
    """
    return _UNSAFE.sub(_escaped, text)


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match[0]
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def excerpt(text: str | bytes, limit: int = 200) -> str:
    """Shorten a body for an error message: drop HTML tags, collapse whitespace, escape, truncate.

    Runs of whitespace (newlines included) become one space; every other unsafe character is
    escaped by `printable`.
    """
    text = text[:65536]  # enough for any excerpt; never scan a whole multi-MB page
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    flat = printable(" ".join(re.sub(r"<[^>]*>", " ", text).split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def error_from_payload(
    payload: Mapping[str, Any], status: int | None = None, *, retry_after: float | None = None
) -> GLMError:
    """Build the error for a GLM error object, e.g. `{"error": {"code": "1302", "message": ..}}`.

    Args:
        payload: The decoded body or stream frame; a flat `{"code", "message"}` also works.
        status: HTTP status, or None for an error frame inside a stream.
        retry_after: Seconds the server asked to wait, if known.

    Returns:
        The mapped `GLMError` subclass instance (not raised).
    """
    raw = payload.get("error", payload)
    detail: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {"message": raw}
    code = None if detail.get("code") is None else str(detail["code"])
    message = detail.get("message") or excerpt(json.dumps(payload, ensure_ascii=False))
    request_id = payload.get("request_id") or detail.get("request_id")
    return _class_for(status, code)(
        printable(str(message)),
        status_code=status,
        code=None if code is None else printable(code),
        request_id=None if request_id is None else printable(str(request_id)),
        retry_after=retry_after,
    )


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


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *, cut: bool = False
) -> GLMError:
    """Build the error for an HTTP error response.

    Args:
        status: HTTP status code.
        body: The raw response body (JSON error object, HTML page, or anything else).
        headers: Response headers, read for `Retry-After` and a redirect's `Location`.
        cut: The body was longer than the client reads of an error body; `body` is its start.

    Returns:
        The mapped error; a non-JSON body is classed by status with a short excerpt as message.
        A 3xx is never retried: GLM does not redirect, so it means a wrong `base_url` or a
        proxy in the way.
    """
    if 300 <= status < 400:
        where = printable(headers.get("location") or headers.get("Location") or "no Location")
        msg = f"unexpected redirect to {where}: check base_url (or a proxy in the way)"
        return GLMAPIError(msg, status_code=status, retryable=False)
    retry_after = parse_retry_after(headers)
    if cut:
        message = f"error body over {len(body) // 1048576} MiB, not read further: {excerpt(body)}"
        return _class_for(status, None)(message, status_code=status, retry_after=retry_after)
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, Mapping):
        return error_from_payload(payload, status, retry_after=retry_after)
    message = excerpt(body) or "empty response body"
    return _class_for(status, None)(message, status_code=status, retry_after=retry_after)


_BEFORE_SENDING = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport failures that happen before the request reaches GLM: safe to re-send. Any other
(read timeout, reset, the server closing mid-reply) may come after GLM started generating."""


def error_from_transport(exc: httpx.TransportError) -> GLMError:
    """Map an httpx transport failure: timeouts to `GLMTimeoutError`, the rest to connection.

    Only connect errors, connect timeouts and pool timeouts are retryable (see
    `_BEFORE_SENDING`); a read timeout or a dropped connection is not, so it is never re-sent.

    Args:
        exc: The httpx error; it becomes the returned error's `__cause__`.

    Returns:
        The mapped error (not raised).
    """
    cls = GLMTimeoutError if isinstance(exc, httpx.TimeoutException) else GLMConnectionError
    retryable = isinstance(exc, _BEFORE_SENDING)
    message = printable(f"{type(exc).__name__}: {exc}".rstrip(": "))  # may quote the server
    error = cls(message, retryable=retryable)
    error.__cause__ = exc
    return error
