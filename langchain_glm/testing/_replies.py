"""Public scripting types of the GLM test service: replies, error replies, recorded requests.

Plain data. How a reply becomes bytes lives in `langchain_glm.testing._wire`; how requests
are checked lives in `langchain_glm.testing._validate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_glm._models import spec_for

__all__ = ["ErrorReply", "RawReply", "RecordedRequest", "Reply", "Script", "default_reply"]


@dataclass(frozen=True)
class Reply:
    """One scripted assistant turn, served as JSON or SSE depending on the request's ``stream``.

    The fault fields (``delay_before_headers`` and below) make the server misbehave the way
    real networks and the real service do; all are off by default.
    """

    text: str = ""
    """Assistant ``content`` (GLM-4.6 omits the key beside tool calls; 4.7/5.x send ``""``)."""

    reasoning: str | None = None
    """``reasoning_content``; dropped when the request disables thinking or the model cannot."""

    tool_calls: list[dict[str, Any]] | None = None
    """Tool calls, each ``{"name": str, "arguments": dict | str}`` with an optional ``"id"``
    (otherwise a deterministic id in GLM's format). A dict is JSON-encoded compactly."""

    usage: dict[str, int] | None = None
    """Any of ``prompt_tokens``, ``completion_tokens``, ``cached_tokens``, ``reasoning_tokens``.
    Missing counts are derived from text lengths; ``total_tokens`` is always computed."""

    finish_reason: str | None = None
    """Sent as is; ``None`` means ``"tool_calls"`` when there are tool calls, else ``"stop"``."""

    web_search: list[dict[str, Any]] | None = None
    """Top-level ``web_search`` results, in the JSON body and on the first stream frame."""

    content_filter: list[dict[str, Any]] | None = None
    """Top-level ``content_filter`` entries, in the JSON body and on the first stream frame."""

    model: str | None = None
    """``model`` echoed in the response; ``None`` echoes the request's model."""

    chunk_size: int = 8
    """Characters of text, reasoning or tool arguments (with ``tool_stream``) per stream frame."""

    include_object: bool = False
    """Add ``object`` on GLM-4.6-era models too (GLM-4.7/5.x always send it)."""

    delay_before_headers: float = 0.0
    """Seconds to wait before sending the status line (time to first byte)."""

    trickle: float = 0.0
    """Seconds to wait between stream frames (the first frame is sent at once)."""

    cut_after: int | None = None
    """Stream: close the connection after this many frames, without ``[DONE]`` or the chunked
    terminator. Non-stream: send the headers and half of the body, then close."""

    disconnect: bool = False
    """Close the connection without sending any response at all."""

    stream_error: dict[str, Any] | None = None
    """An error object (``{"code": "1302", "message": ...}``) sent as an in-stream
    ``data: {"error": {...}}`` frame after ``stream_error_after`` frames; the stream then ends
    without ``[DONE]``. Non-stream: an HTTP 200 whose body is ``{"error": {...}}``."""

    stream_error_after: int = 0
    """How many normal frames precede the ``stream_error`` frame."""

    malformed_after: int | None = None
    """Stream: insert a frame of broken JSON after this many frames (the stream then goes on).
    Non-stream: the body is truncated, invalid JSON."""

    def __post_init__(self) -> None:
        """Reject impossible scripts when they are written, not when they are served.

        Raises:
            ValueError: A ``chunk_size`` below 1, a negative count, or a tool call with no name.
        """
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        counts = (self.cut_after, self.malformed_after, self.stream_error_after)
        if any(n is not None and n < 0 for n in counts):
            raise ValueError("cut_after, malformed_after and stream_error_after must be >= 0")
        for call in self.tool_calls or ():
            if not isinstance(call.get("name"), str) or not call["name"]:
                raise ValueError(f"tool call without a name: {call!r}")


@dataclass(frozen=True)
class ErrorReply:
    """A scripted error response: an HTTP status with GLM's ``{"error": {code, message}}`` body."""

    status: int
    """HTTP status, e.g. 429."""

    code: str
    """GLM business code, a string as on the wire, e.g. ``"1302"``."""

    message: str | None = None
    """Error message; ``None`` uses the real service's message for well-known codes."""

    retry_after: float | None = None
    """Seconds sent in a ``Retry-After`` header (whole numbers as integers)."""

    html: bool = False
    """Send a non-JSON HTML error page (``text/html``), like a gateway in front of the API."""

    delay_before_headers: float = 0.0
    """Seconds to wait before sending the status line."""

    headers: dict[str, str] | None = None
    """Extra response headers, e.g. ``{"retry-after-ms": "250"}``."""


@dataclass(frozen=True)
class RawReply:
    """A response body served byte for byte whatever the request asked for (replay a capture)."""

    body: bytes
    """The exact response body."""

    status: int = 200
    """HTTP status."""

    content_type: str | None = None
    """``Content-Type``; ``None`` picks GLM's SSE type for a body starting with ``data:``, else
    GLM's JSON type."""

    delay_before_headers: float = 0.0
    """Seconds to wait before sending the status line."""


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the service received it."""

    method: str
    """HTTP method, upper case."""

    path: str
    """Request path without the query string, e.g. ``/api/paas/v4/chat/completions``."""

    headers: dict[str, str]
    """Request headers with lower-case names (the last value wins for repeated names)."""

    json: Any
    """The parsed JSON body, or ``None`` when the body is empty or not JSON."""

    body: bytes = b""
    """The raw body bytes (multipart uploads arrive as they were sent)."""

    connection_id: int = 0
    """Sequence number of the TCP connection it arrived on (equal ids: keep-alive reuse; 0 for
    `GLMTransport`, which has no connections)."""

    query: str = ""
    """The query string, without ``?``."""


Script = Callable[[RecordedRequest], "Reply | ErrorReply | RawReply"]
"""A function deciding the reply from the recorded request."""

_EFFORT_DEPTH = {"none": 0, "minimal": 0, "low": 1, "medium": 2, "high": 2, "xhigh": 4, "max": 4}


def last_user_text(body: Any) -> str:
    """Return the text of the last user message of a request body (text parts joined)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                texts = [p.get("text") for p in content if isinstance(p, dict)]
                return " ".join(t for t in texts if isinstance(t, str))
            return content if isinstance(content, str) else ""
    return ""


def reasoning_for(body: dict[str, Any], said: str) -> str:
    """Reasoning about ``said``, as long as the request's ``reasoning_effort`` asks for.

    Models that take efforts (GLM-5.2+) default to ``max``, as the service does; ``low`` gives
    a quarter of ``max``; ``none``/``minimal`` skip thinking. Other models reason once.
    """
    spec = spec_for(str(body.get("model", "")))
    effort = body.get("reasoning_effort") or "max"
    depth = _EFFORT_DEPTH.get(effort, 4) if spec is not None and spec.efforts else 1
    steps = [f"The user said: {said}. I will answer."]
    steps += ["Let me check that answer once more."] * (depth - 1)
    return " ".join(steps[:depth])


def default_reply(request: RecordedRequest) -> Reply:
    """The deterministic reply served when nothing is queued and no script is set.

    Args:
        request: The recorded request.

    Returns:
        Reasoning ``"The user said: <msg>. I will answer."`` and text ``"You said: <msg>"``.
    """
    said = last_user_text(request.json)
    return Reply(text=f"You said: {said}", reasoning=reasoning_for(request.json, said))
