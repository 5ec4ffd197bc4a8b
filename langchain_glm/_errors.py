"""GLM error classes and the table that maps (HTTP status, business code) to them.

Every class also subclasses the matching `langchain_core.exceptions` class, so callers can catch
either `GLMRateLimitError` or core's `ModelRateLimitError`, and `is_retryable` comes from core.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
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

from langchain_glm._retry import parse_retry_after


class GLMError(ModelError):
    """Base class of every error raised by langchain-glm.

    Attributes:
        message: Human-readable reason (from the server, or ours).
        status_code: HTTP status, or None when no response was received or inside a stream.
        code: GLM business code as a string (e.g. "1302"), or None.
        request_id: Request id reported by the server, or None.
        retry_after: Seconds the server asked to wait (from headers), or None.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after

    def redact(self, secret: str) -> GLMError:
        """Remove a secret (the API key) that a server echoed into the message.

        Args:
            secret: The text to hide.

        Returns:
            This error, with every occurrence replaced by `***`.
        """
        if secret and secret in self.message:
            self.message = self.message.replace(secret, "***")
            self.args = (self.message,)
        return self

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        status = f" (HTTP {self.status_code})" if self.status_code is not None else ""
        request = f" [request_id={self.request_id}]" if self.request_id else ""
        return f"GLM error{code}{status}: {self.message}{request}"


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
    """The request timed out (httpx timeouts, HTTP 408)."""


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


def excerpt(text: str | bytes, limit: int = 200) -> str:
    """Shorten a body for an error message: drop HTML tags, collapse whitespace, truncate."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    flat = " ".join(re.sub(r"<[^>]*>", " ", text).split())
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
        str(message),
        status_code=status,
        code=code,
        request_id=None if request_id is None else str(request_id),
        retry_after=retry_after,
    )


def error_from_response(status: int, body: bytes, headers: Mapping[str, str]) -> GLMError:
    """Build the error for an HTTP error response.

    Args:
        status: HTTP status code.
        body: The raw response body (JSON error object, HTML page, or anything else).
        headers: Response headers, read for `Retry-After`.

    Returns:
        The mapped error; a non-JSON body is classed by status with a short excerpt as message.
    """
    retry_after = parse_retry_after(headers)
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, Mapping):
        return error_from_payload(payload, status, retry_after=retry_after)
    message = excerpt(body) or "empty response body"
    return _class_for(status, None)(message, status_code=status, retry_after=retry_after)


def error_from_transport(exc: httpx.TransportError) -> GLMError:
    """Map an httpx transport failure: timeouts to `GLMTimeoutError`, the rest to connection.

    Args:
        exc: The httpx error; it becomes the returned error's `__cause__`.

    Returns:
        The mapped error (not raised).
    """
    cls = GLMTimeoutError if isinstance(exc, httpx.TimeoutException) else GLMConnectionError
    error = cls(f"{type(exc).__name__}: {exc}".rstrip(": "))
    error.__cause__ = exc
    return error
