"""Plain data of the GLM test service: scripted replies, recorded requests, response plans."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_glm._models import spec_for

_EFFORT_DEPTH = {"none": 0, "minimal": 0, "low": 1, "medium": 2, "high": 2, "xhigh": 4, "max": 4}


@dataclass(frozen=True)
class Reply:
    """One scripted assistant turn, served as JSON or SSE as the request's ``stream`` asks.

    Attributes:
        text: Assistant ``content`` (beside tool calls GLM-4.6 omits it, 4.7/5.x send ``""``).
        reasoning: ``reasoning_content``; dropped when the request or the model does not think.
        tool_calls: ``[{"name": str, "arguments": dict | str, "id"?: str}]``; a dict is
            JSON-encoded compactly, a missing id is generated in GLM's format.
        usage: Any of ``prompt_tokens``, ``completion_tokens``, ``cached_tokens``,
            ``reasoning_tokens``; missing counts are derived from text lengths.
        finish_reason: Sent as is; ``None``: ``"tool_calls"`` with tool calls, else ``"stop"``.
        web_search: Top-level ``web_search`` results (JSON body, first stream frame).
        content_filter: Top-level ``content_filter`` entries (JSON body, first stream frame).
        model: ``model`` echoed back; ``None`` echoes the request's.
        chunk_size: Characters of text, reasoning or ``tool_stream`` arguments per frame.
        include_object: Send ``object`` on GLM-4.6-era models too (4.7/5.x always do).
        delay_before_headers: Fault: seconds before the status line.
        trickle: Fault: seconds between stream frames (the first goes at once).
        cut_after: Fault: drop the connection after this many frames, without ``[DONE]`` or
            the chunked terminator (non-stream: after half the body).
        disconnect: Fault: drop the connection without any response.
        stream_error: Fault: an in-stream ``data: {"error": {...}}`` frame (given as
            ``{"code", "message"}`` or already wrapped) after ``stream_error_after`` frames,
            ending the stream without ``[DONE]``; non-stream: HTTP 200 with that body.
        stream_error_after: Normal frames before the ``stream_error`` frame.
        malformed_after: Fault: a frame of broken JSON after this many frames (the stream goes
            on); non-stream: truncated JSON.
    """

    text: str = ""
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    usage: dict[str, int] | None = None
    finish_reason: str | None = None
    web_search: list[dict[str, Any]] | None = None
    content_filter: list[dict[str, Any]] | None = None
    model: str | None = None
    chunk_size: int = 8
    include_object: bool = False
    delay_before_headers: float = 0.0
    trickle: float = 0.0
    cut_after: int | None = None
    disconnect: bool = False
    stream_error: dict[str, Any] | None = None
    stream_error_after: int = 0
    malformed_after: int | None = None

    def __post_init__(self) -> None:
        """Reject impossible scripts (`ValueError`) when written, not when served."""
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
    """A scripted error: an HTTP status with GLM's ``{"error": {"code", "message"}}`` body.

    Attributes:
        status: HTTP status, e.g. 429.
        code: GLM business code, a string as on the wire, e.g. ``"1302"``.
        message: ``None`` uses the real service's message for well-known codes.
        retry_after: Seconds for a ``Retry-After`` header (whole numbers as integers).
        html: Send a gateway's HTML error page (``text/html``) instead of JSON.
        delay_before_headers: Seconds before the status line.
        headers: Extra response headers, e.g. ``{"retry-after-ms": "250"}``.
    """

    status: int
    code: str
    message: str | None = None
    retry_after: float | None = None
    html: bool = False
    delay_before_headers: float = 0.0
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class RawReply:
    """A body served byte for byte whatever the request asked (replay a real capture).

    Attributes:
        body: The exact response body.
        status: HTTP status.
        content_type: ``None``: GLM's SSE type for a body starting ``data:``, else JSON.
        delay_before_headers: Seconds before the status line.
    """

    body: bytes
    status: int = 200
    content_type: str | None = None
    delay_before_headers: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the service received it.

    Attributes:
        method: HTTP method, upper case.
        path: Path without the query, e.g. ``/api/paas/v4/chat/completions``.
        headers: Headers with lower-case names (the last value wins).
        json: The parsed JSON body, ``None`` when empty or not JSON.
        body: The raw body bytes (multipart uploads arrive as sent).
        connection_id: Number of the TCP connection (equal: keep-alive; 0 in `GLMTransport`).
        query: The query string, without ``?``.
    """

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes = b""
    connection_id: int = 0
    query: str = ""


Script = Callable[[RecordedRequest], "Reply | ErrorReply | RawReply"]
"""A function deciding the reply from the recorded request."""
JSON = "application/json; charset=UTF-8"


@dataclass(frozen=True)
class Plan:
    """What to send for one request; carriers execute it and decide nothing.

    Attributes:
        status: HTTP status.
        headers: Response headers (``Content-Length`` comes from ``length``).
        chunks: Body pieces in order (one SSE event each for streams).
        length: ``Content-Length``; ``None`` sends the body chunked.
        delay: Seconds before the status line.
        gap: Seconds between body pieces (the first goes at once).
        complete: ``False``: drop the connection after the pieces (a cut body).
        disconnect: Drop the connection without any response.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: tuple[bytes, ...] = ()
    length: int | None = None
    delay: float = 0.0
    gap: float = 0.0
    complete: bool = True
    disconnect: bool = False

    @classmethod
    def of(cls, status: int, body: bytes, ctype: str = JSON, delay: float = 0.0) -> Plan:
        """A plan sending one fixed-length body."""
        return cls(status, {"Content-Type": ctype}, (body,), len(body), delay)

    def paced(self) -> Iterator[tuple[float, bytes]]:
        """Yield ``(seconds to wait first, piece)`` for each body piece."""
        for index, piece in enumerate(self.chunks):
            yield (self.gap if index else 0.0), piece

    def header_list(self) -> list[tuple[str, str]]:
        """The headers to send, with ``Content-Length`` for a fixed-length body."""
        extra = [] if self.length is None else [("Content-Length", str(self.length))]
        return [*self.headers.items(), *extra]


def last_user_text(body: Any) -> str:
    """The text of the last user message of a request body (text parts joined)."""
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
    """Reasoning about ``said`` as deep as ``reasoning_effort`` asks (unset: ``max``)."""
    spec = spec_for(str(body.get("model", "")))
    effort = body.get("reasoning_effort") or "max"
    depth = _EFFORT_DEPTH.get(effort, 4) if spec is not None and spec.efforts else 1
    steps = [f"The user said: {said}. I will answer."] + ["Let me check once more."] * 3
    return " ".join(steps[:depth])


def default_reply(request: RecordedRequest) -> Reply:
    """Without a queue or script: text ``"You said: <msg>"``, reasoning ``"The user said..."``."""
    said = last_user_text(request.json)
    return Reply(text=f"You said: {said}", reasoning=reasoning_for(request.json, said))
