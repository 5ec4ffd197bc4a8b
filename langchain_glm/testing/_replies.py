r"""Scripted replies, recorded requests, and their rendering in GLM's wire format (pure, no I/O).

Shapes follow https://docs.z.ai/api-reference/llm/chat-completion and real captures.
GLM-4.5/4.6-era models: non-stream keys sorted, a ``"\n"`` content frame before reasoning,
``"reasoning_content": ""`` beside content deltas. GLM-4.7/5.x: none of those, ``object`` on
every frame, ``role`` on every reasoning and content delta, ``reasoning_tokens`` in usage,
and reasoning may go straight to tool calls. Every stream: ``finish_reason`` and usage only on
the last frame, then ``data: [DONE]``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any

from langchain_glm._models import spec_for


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

    @classmethod
    def of(
        cls, method: str, target: str, headers: dict[str, str], body: bytes, cid: int = 0
    ) -> RecordedRequest:
        """Record a request (``target``: path and query; ``headers``: lower-case names)."""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        path, _, query = target.partition("?")
        return cls(method, path, headers, parsed, body, cid, query)


Script = Callable[[RecordedRequest], "Reply | ErrorReply | RawReply"]
"""A function deciding the reply from the recorded request."""
Answer = Reply | ErrorReply | RawReply
JSON, SSE = "application/json; charset=UTF-8", "text/event-stream;charset=UTF-8"


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
    def of(cls, status: int, body: Any, ctype: str = JSON, delay: float = 0.0) -> Plan:
        """A plan sending one fixed-length body (bytes as they are, anything else as JSON)."""
        data = body if isinstance(body, bytes) else dumps(body)
        return cls(status, {"Content-Type": ctype}, (data,), len(data), delay)

    def paced(self) -> Iterator[tuple[float, bytes]]:
        """Yield ``(seconds to wait first, piece)`` for each body piece."""
        for index, piece in enumerate(self.chunks):
            yield (self.gap if index else 0.0), piece

    def header_list(self) -> list[tuple[str, str]]:
        """The headers to send, with ``Content-Length`` for a fixed-length body."""
        extra = [] if self.length is None else [("Content-Length", str(self.length))]
        return [*self.headers.items(), *extra]


_LIMITS = "please reduce {} or contact customer service to increase limits"
KNOWN_MESSAGES: dict[str, str] = {
    "500": "Internal server error, please try again later.",
    "1001": "Authorization parameter not received in header, unable to authenticate.",
    "1002": "Authorization Token is invalid, please ensure that the Authorization Token is "
    "correctly provided.",
    "1003": "Authorization Token has expired, please regenerate it.",
    "1113": "Insufficient balance or no resource package. Please recharge.",
    "1210": "Invalid API parameter, please check the documentation.",
    "1211": "Model does not exist, please check the model code.",
    "1214": "The messages parameter is illegal. Please check the documentation.",
    "1234": "Network error, please try again later.",
    "1261": "Prompt exceeds max length",
    "1301": "System detected potentially unsafe or sensitive content in input or generation. "
    "Please avoid using prompts that may generate sensitive content.",
    "1302": "High concurrency usage of this API, " + _LIMITS.format("concurrency"),
    "1303": "High frequency usage of this API, " + _LIMITS.format("frequency"),
    "1305": "The service may be temporarily overloaded, please try again later",
}
"""The service's messages for well-known codes (https://docs.z.ai/api-reference/api-code)."""
_EFFORT_DEPTH = {"none": 0, "minimal": 0, "low": 1, "medium": 2, "high": 2, "xhigh": 4, "max": 4}
_BEIJING = timezone(timedelta(hours=8))
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ENCODE_SORTED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
_HTML = (
    "<html>\r\n<head><title>{0}</title></head>\r\n<body>\r\n<center><h1>{0}</h1></center>\r\n"
    "{1}<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)  # a gateway's (nginx) error page


def dumps(obj: Any, *, sort_keys: bool = False) -> bytes:
    """Encode JSON as the service does: compact UTF-8, non-ASCII unescaped."""
    return (_ENCODE_SORTED if sort_keys else _ENCODE)(obj).encode()


def tokens(chars: int) -> int:
    """Rough, deterministic token count: four characters a token, at least one."""
    return max(1, math.ceil(chars / 4))


def phrase(status: int) -> str:
    """The reason phrase of an HTTP status (empty for unregistered ones, like 529)."""
    return HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""


def error_body(code: str, message: str | None) -> dict[str, Any]:
    """GLM's error object, with the real message for well-known codes when none is given."""
    code = str(code)  # an int slipped in by a test still goes out as GLM's string code
    text = message if message is not None else KNOWN_MESSAGES.get(code, f"Error {code}.")
    return {"error": {"code": code, "message": text}}


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


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Turn:
    """One chat request as far as rendering goes: ids, generation (``modern``: 4.7/5.x), flags."""

    seq: int
    model: str
    stream: bool
    tool_stream: bool
    thinking: bool
    modern: bool
    response_id: str  # Beijing YYYYMMDDHHMMSS plus 16 hex digits
    request_id: str  # the client's, else the response id
    created: int
    prompt_chars: int

    @classmethod
    def of(cls, body: dict[str, Any], seq: int) -> Turn:
        """The turn of a validated request body (``seq`` seeds the ids)."""
        now, model, thinking = time.time(), str(body.get("model", "")), body.get("thinking")
        rid = datetime.fromtimestamp(now, _BEIJING).strftime("%Y%m%d%H%M%S") + _hex(f"id:{seq}", 16)
        off = isinstance(thinking, dict) and thinking.get("type") == "disabled"
        off = off or body.get("reasoning_effort") in ("none", "minimal")
        spec, asked = spec_for(model), body.get("request_id")
        thinks = not off and (spec is None or spec.thinking != "none")
        modern = model.lower().startswith(("glm-4.7", "glm-5"))
        chars = len(json.dumps(body.get("messages", []), ensure_ascii=False))
        flags = (body.get("stream") is True, body.get("tool_stream") is True, thinks, modern)
        return cls(seq, model, *flags, rid, asked or rid, int(now), chars)

    def tool_call_id(self, index: int) -> str:
        """A deterministic id: ``call_<24 hex>`` in streams, ``call_-<19 digits>`` else."""
        digest = _hex(f"call:{self.seq}:{index}", 24)
        big = 10**18 + int(digest, 16) % (9 * 10**18)
        return f"call_{digest}" if self.stream else f"call_-{big}"

    def resolve(self, reply: Reply) -> tuple[str, list[tuple[str, str, str]], dict[str, Any]]:
        """The reply's reasoning, ``(id, name, arguments)`` calls and usage for this turn."""
        reasoning = (reply.reasoning or "") if self.thinking else ""
        calls = []
        for index, call in enumerate(reply.tool_calls or ()):
            args = call.get("arguments", {})
            args = args if isinstance(args, str) else dumps(args).decode()
            calls.append((str(call.get("id") or self.tool_call_id(index)), call["name"], args))
        chars = len(reply.text) + len(reasoning) + sum(len(c[1]) + len(c[2]) for c in calls)
        given = reply.usage or {}
        prompt = given.get("prompt_tokens", tokens(self.prompt_chars))
        completion = given.get("completion_tokens", tokens(chars))
        usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
        usage["total_tokens"] = prompt + completion
        usage["prompt_tokens_details"] = {"cached_tokens": given.get("cached_tokens", 0)}
        if "reasoning_tokens" in given or self.modern:
            derived = tokens(len(reasoning)) if reasoning else 0
            usage["completion_tokens_details"] = {
                "reasoning_tokens": given.get("reasoning_tokens", derived)
            }
        return reasoning, calls, usage

    def head(self, reply: Reply, kind: str) -> dict[str, Any]:
        """The keys every body or frame starts with (``kind``: the ``object`` value)."""
        head: dict[str, Any] = {"id": self.response_id, "created": self.created}
        if reply.include_object or self.modern:
            head["object"] = kind
        return head | {"model": reply.model or self.model}


def _extras(reply: Reply) -> dict[str, Any]:
    pairs = (("web_search", reply.web_search), ("content_filter", reply.content_filter))
    return {key: value for key, value in pairs if value is not None}


def _finish(reply: Reply, calls: list[Any]) -> str:
    return reply.finish_reason or ("tool_calls" if calls else "stop")


def completion_body(reply: Reply, turn: Turn) -> dict[str, Any]:
    """The non-stream response body of a reply (GLM serializes it with sorted keys)."""
    reasoning, calls, usage = turn.resolve(reply)
    message: dict[str, Any] = {"role": "assistant"}
    if reply.text or not calls or turn.modern:
        message["content"] = reply.text
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = [
            {"id": cid, "index": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, (cid, n, a) in enumerate(calls)
        ]
    choice = {"finish_reason": _finish(reply, calls), "index": 0, "message": message}
    body = turn.head(reply, "chat.completion") | {"choices": [choice]}
    return body | {"request_id": turn.request_id, "usage": usage} | _extras(reply)


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def stream_frames(reply: Reply, turn: Turn) -> list[dict[str, Any]]:
    """The JSON frames of a streamed reply (without ``[DONE]``); the last carries usage."""
    (reasoning, calls, usage), role, size = (
        turn.resolve(reply),
        {"role": "assistant"},
        reply.chunk_size,
    )
    newline = [] if turn.modern or not reasoning else [{**role, "content": "\n"}]
    thoughts = _pieces(reasoning, size)
    deltas: list[Any] = [*newline, *({**role, "reasoning_content": p} for p in thoughts)]
    tail = {"reasoning_content": ""} if newline else {}
    deltas += [{**role, "content": p, **tail} for p in _pieces(reply.text, size)]
    deltas += newline if calls and not reply.text else []
    for i, (call_id, name, args) in enumerate(calls):
        first = {"name": name, "arguments": "" if turn.tool_stream else args}
        call = {"id": call_id, "index": i, "type": "function", "function": first}
        deltas.append({"tool_calls": [call]})
        fragments = _pieces(args, size) if turn.tool_stream else []
        deltas += [{"tool_calls": [{"index": i, "function": {"arguments": p}}]} for p in fragments]
    head = turn.head(reply, "chat.completion.chunk")
    frames = [{**head, "choices": [{"index": 0, "delta": d}]} for d in deltas]
    last = {"index": 0, "finish_reason": _finish(reply, calls), "delta": {**role, "content": ""}}
    frames.append({**head, "choices": [last], "usage": usage})
    frames[0] |= _extras(reply)
    return frames


def _event(obj: Any) -> bytes:
    return b"data: " + dumps(obj) + b"\n\n"


def _error_plan(e: ErrorReply) -> Plan:
    extra = f"<p>{e.message}</p>\r\n" if e.message else ""
    page = _HTML.format(f"{e.status} {phrase(e.status)}", extra).encode()
    body = page if e.html else error_body(e.code, e.message)
    plan = Plan.of(e.status, body, "text/html" if e.html else "application/json")
    plan = replace(plan, delay=e.delay_before_headers)
    if e.retry_after is not None:
        seconds = float(e.retry_after)
        plan.headers["Retry-After"] = str(int(seconds)) if seconds.is_integer() else repr(seconds)
    plan.headers.update(e.headers or {})
    return plan


def render(answer: Answer, body: Any, seq: int) -> Plan:
    """The `Plan` of an answer to a chat request (``body``: its JSON; ``seq`` seeds ids)."""
    delay = answer.delay_before_headers
    if isinstance(answer, ErrorReply):
        return _error_plan(answer)
    if isinstance(answer, RawReply):
        ctype = answer.content_type or (SSE if answer.body.lstrip()[:5] == b"data:" else JSON)
        return Plan.of(answer.status, answer.body, ctype, delay)
    if answer.disconnect:
        return Plan(delay=delay, disconnect=True)
    turn, error, complete = Turn.of(body, seq), answer.stream_error, answer.cut_after is None
    error = error if error is None or "error" in error else {"error": error}
    if not turn.stream:
        data = dumps(completion_body(answer, turn), sort_keys=True) if error is None else b""
        data = data or dumps(error)
        data = data if answer.malformed_after is None else data[: len(data) // 2]
        sent = data if complete else data[: len(data) // 2]
        return Plan(200, {"Content-Type": JSON}, (sent,), len(data), delay, complete=complete)
    events = [_event(frame) for frame in stream_frames(answer, turn)] + [b"data: [DONE]\n\n"]
    if answer.malformed_after is not None:  # two frames run together mid-object
        start = b'{"id":"%s","choices":[{"index":0,"delta":{"content":"' % turn.response_id.encode()
        where = min(answer.malformed_after, len(events) - 1)
        events.insert(where, b"data: " + start + b"Hel" + start + b"lo\n\n")
    if error is not None:
        events = [*events[: min(answer.stream_error_after, len(events) - 1)], _event(error)]
    events = events if complete else events[: answer.cut_after]
    headers = {"Content-Type": SSE, "Cache-Control": "no-cache"}
    return Plan(200, headers, tuple(events), None, delay, answer.trickle, complete)
