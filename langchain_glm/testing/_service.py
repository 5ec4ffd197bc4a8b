r"""`GLMService`: the GLM behaviour as pure code (no I/O); `plan(request)` returns what to send.

Paths, error bodies and reply shapes as at https://docs.z.ai/api-reference and real captures;
per-model limits from `langchain_glm._models`, the table the client reads too. GLM-4.5/4.6 sort
non-stream keys and stream a ``"\n"`` before reasoning; GLM-4.7/5.x send ``object`` and ``role``
on every frame and ``reasoning_tokens`` in usage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.client import responses
from typing import Any, TypeVar

from langchain_glm._models import MODELS, ModelSpec, spec_for


@dataclass(frozen=True)
class Reply:
    """One scripted assistant turn, served as JSON or SSE as the request's ``stream`` asks.

    Attributes:
        text: Assistant ``content`` (beside tool calls GLM-4.6 omits it, 4.7/5.x send ``""``).
        reasoning: ``reasoning_content``; dropped when the request or the model does not think.
        tool_calls: ``[{"name", "arguments": dict | str, "id"?}]``; missing ids made as GLM does.
        usage: ``prompt_tokens``, ``completion_tokens``, ``cached_tokens``, ``reasoning_tokens``.
        finish_reason: Sent as is; ``None``: ``"tool_calls"`` with tool calls, else ``"stop"``.
        web_search: Top-level ``web_search`` results (JSON body, first stream frame).
        content_filter: Top-level ``content_filter`` entries (JSON body, first stream frame).
        model: ``model`` echoed back; ``None`` echoes the request's.
        chunk_size: Characters of text, reasoning or ``tool_stream`` arguments per frame.
        include_object: Send ``object`` on GLM-4.6-era models too (4.7/5.x always do).
        delay_before_headers: Fault: seconds before the status line.
        trickle: Fault: seconds between stream frames (the first goes at once).
        cut_after: Fault: drop the connection after this many frames (non-stream: half the body).
        disconnect: Fault: drop the connection without any response.
        stream_error: Fault: a last ``data: {"error": {"code", "message"}}`` frame (or the body).
        stream_error_after: Normal frames before the ``stream_error`` frame.
        malformed_after: Fault: a broken JSON frame after this many (non-stream: truncated JSON).
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


JSON, SSE = "application/json; charset=UTF-8", "text/event-stream;charset=UTF-8"


@dataclass(frozen=True)
class Plan:
    """What to send for one request; carriers execute it and decide nothing.

    Queue or script one to send exact bytes, e.g. a capture of the real service (`reply_raw`).

    Attributes:
        status: HTTP status.
        headers: Response headers; without ``Content-Length`` the body goes chunked.
        chunks: Body pieces in order (one SSE event each for streams).
        delay: Seconds before the status line.
        gap: Seconds between body pieces (the first goes at once).
        complete: ``False``: drop the connection after the pieces (a cut body).
        disconnect: Drop the connection without any response.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: tuple[bytes, ...] = ()
    delay: float = 0.0
    gap: float = 0.0
    complete: bool = True
    disconnect: bool = False

    @classmethod
    def of(cls, status: int, body: Any, ctype: str | None = None, delay: float = 0.0) -> Plan:
        """A plan sending one fixed-length body (bytes as they are, anything else as JSON).

        ``ctype=None`` is GLM's SSE type for a body starting ``data:``, else JSON.
        """
        data = body if isinstance(body, bytes) else dumps(body)
        ctype = ctype or (SSE if data.lstrip()[:5] == b"data:" else JSON)
        return cls(
            status, {"Content-Type": ctype, "Content-Length": str(len(data))}, (data,), delay
        )

    def paced(self) -> Iterator[tuple[float, bytes]]:
        """Yield ``(seconds to wait first, piece)`` for each body piece."""
        for index, piece in enumerate(self.chunks):
            yield (self.gap if index else 0.0), piece


Script = Callable[[RecordedRequest], "Reply | ErrorReply | Plan"]
"""A function deciding the reply from the recorded request (a `Plan` is sent as it is)."""
Answer = Reply | ErrorReply | Plan


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


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


class _Turn:
    def __init__(self, body: dict[str, Any], seq: int, reply: Reply | None = None) -> None:
        self.reply = r = reply or Reply()
        now, model, thinking = time.time(), str(body.get("model", "")), body.get("thinking")
        rid = datetime.fromtimestamp(now, _BEIJING).strftime("%Y%m%d%H%M%S") + _hex(f"id:{seq}", 16)
        self.response_id, self.created = rid, int(now)
        self.request_id = body.get("request_id") or rid
        self.stream, self.tool_stream = body.get("stream") is True, body.get("tool_stream") is True
        self.modern = model.lower().startswith(("glm-4.7", "glm-5"))
        off = isinstance(thinking, dict) and thinking.get("type") == "disabled"
        off = off or body.get("reasoning_effort") in ("none", "minimal")
        thinks = not off and getattr(spec_for(model), "thinking", "") != "none"
        self.reasoning = (r.reasoning or "") if thinks else ""
        self.calls: list[tuple[str, str, str]] = []
        for index, call in enumerate(r.tool_calls or ()):
            args = call.get("arguments", {})
            args = args if isinstance(args, str) else dumps(args).decode()
            digest = _hex(f"call:{seq}:{index}", 24)  # GLM's id shapes, stream or not
            made = f"call_-{10**18 + int(digest, 16) % (9 * 10**18)}"
            made = f"call_{digest}" if self.stream else made
            self.calls.append((str(call.get("id") or made), call["name"], args))
        self.finish = r.finish_reason or ("tool_calls" if self.calls else "stop")
        self.prompt_chars = len(json.dumps(body.get("messages", []), ensure_ascii=False))
        self.model = r.model or model
        pairs = (("web_search", r.web_search), ("content_filter", r.content_filter))
        self.extras = {key: value for key, value in pairs if value is not None}

    def usage(self) -> dict[str, Any]:
        given, calls = self.reply.usage or {}, sum(len(c[1]) + len(c[2]) for c in self.calls)
        chars = len(self.reply.text) + len(self.reasoning) + calls
        prompt = given.get("prompt_tokens", tokens(self.prompt_chars))
        completion = given.get("completion_tokens", tokens(chars))
        usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
        usage["total_tokens"] = prompt + completion
        usage["prompt_tokens_details"] = {"cached_tokens": given.get("cached_tokens", 0)}
        if "reasoning_tokens" in given or self.modern:
            derived = tokens(len(self.reasoning)) if self.reasoning else 0
            details = {"reasoning_tokens": given.get("reasoning_tokens", derived)}
            usage["completion_tokens_details"] = details
        return usage

    def head(self, kind: str) -> dict[str, Any]:
        obj = {"object": kind} if self.reply.include_object or self.modern else {}
        return {"id": self.response_id, "created": self.created, **obj, "model": self.model}

    def body(self) -> dict[str, Any]:
        r, calls = self.reply, self.calls
        message: dict[str, Any] = {"role": "assistant"}
        if r.text or not calls or self.modern:
            message["content"] = r.text
        if self.reasoning:
            message["reasoning_content"] = self.reasoning
        if calls:
            message["tool_calls"] = [
                {"id": cid, "index": i, "type": "function", "function": {"name": n, "arguments": a}}
                for i, (cid, n, a) in enumerate(calls)
            ]
        choice = {"finish_reason": self.finish, "index": 0, "message": message}
        rest = {"choices": [choice], "request_id": self.request_id, "usage": self.usage()}
        return self.head("chat.completion") | rest | self.extras

    def frames(self) -> list[dict[str, Any]]:
        role, size, text = {"role": "assistant"}, self.reply.chunk_size, self.reply.text
        newline = [] if self.modern or not self.reasoning else [{**role, "content": "\n"}]
        thoughts = _pieces(self.reasoning, size)
        deltas: list[Any] = [*newline, *({**role, "reasoning_content": p} for p in thoughts)]
        tail = {"reasoning_content": ""} if newline else {}
        deltas += [{**role, "content": p, **tail} for p in _pieces(text, size)]
        deltas += newline if self.calls and not text else []
        for i, (call_id, name, args) in enumerate(self.calls):
            first = {"name": name, "arguments": "" if self.tool_stream else args}
            call = {"id": call_id, "index": i, "type": "function", "function": first}
            more = _pieces(args, size) if self.tool_stream else []
            deltas += [{"tool_calls": [call]}]
            deltas += [{"tool_calls": [{"index": i, "function": {"arguments": p}}]} for p in more]
        head = self.head("chat.completion.chunk")
        frames = [{**head, "choices": [{"index": 0, "delta": d}]} for d in deltas]
        last = {"index": 0, "finish_reason": self.finish, "delta": {**role, "content": ""}}
        frames.append({**head, "choices": [last], "usage": self.usage()})
        frames[0] |= self.extras
        return frames


def _event(obj: Any) -> bytes:
    return b"data: " + dumps(obj) + b"\n\n"


def _error_plan(e: ErrorReply) -> Plan:
    extra = f"<p>{e.message}</p>\r\n" if e.message else ""
    page = _HTML.format(f"{e.status} {responses.get(e.status, '')}", extra).encode()
    body = page if e.html else error_body(e.code, e.message)
    ctype = "text/html" if e.html else "application/json"
    plan = Plan.of(e.status, body, ctype, e.delay_before_headers)
    if e.retry_after is not None:
        seconds = float(e.retry_after)
        plan.headers["Retry-After"] = str(int(seconds)) if seconds.is_integer() else repr(seconds)
    plan.headers.update(e.headers or {})
    return plan


def render(answer: Answer, body: Any, seq: int) -> Plan:
    """The `Plan` of an answer to a chat request (``body``: its JSON; ``seq`` seeds ids)."""
    if isinstance(answer, ErrorReply):
        return _error_plan(answer)
    if isinstance(answer, Plan):
        return answer
    delay = answer.delay_before_headers
    if answer.disconnect:
        return Plan(delay=delay, disconnect=True)
    turn, error, complete = _Turn(body, seq, answer), answer.stream_error, answer.cut_after is None
    error = error if error is None or "error" in error else {"error": error}
    if not turn.stream:
        data = dumps(turn.body(), sort_keys=True) if error is None else dumps(error)
        data = data if answer.malformed_after is None else data[: len(data) // 2]
        sent = data if complete else data[: len(data) // 2]
        headers = {"Content-Type": JSON, "Content-Length": str(len(data))}
        return Plan(200, headers, (sent,), delay, complete=complete)
    events = [_event(frame) for frame in turn.frames()] + [b"data: [DONE]\n\n"]
    if answer.malformed_after is not None:  # two frames run together mid-object
        start = b'{"id":"%s","choices":[{"index":0,"delta":{"content":"' % turn.response_id.encode()
        where = min(answer.malformed_after, len(events) - 1)
        events.insert(where, b"data: " + start + b"Hel" + start + b"lo\n\n")
    if error is not None:
        events = [*events[: min(answer.stream_error_after, len(events) - 1)], _event(error)]
    events = events if complete else events[: answer.cut_after]
    headers = {"Content-Type": SSE, "Cache-Control": "no-cache"}
    return Plan(200, headers, tuple(events), delay, answer.trickle, complete)


DEFAULT_MODELS = tuple(MODELS)
"""Models a service knows unless given ``models=``: all of ``langchain_glm._models.MODELS``."""
BASE_PATHS = ("/api/paas/v4", "/api/coding/paas/v4", "/v1")
"""Base paths served: standard, coding plan, and OpenAI-style."""
_A = TypeVar("_A", Reply, ErrorReply, Plan)
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ILLEGAL = "The messages parameter is illegal. Please check the documentation."
_ALWAYS_THINKS = (
    "This model always engages in thinking and cannot be disabled; please use low, high, or max"
)
_MEDIA = {"image_url": "image", "video_url": "video", "file": "file"}
_ANY_MODEL = ModelSpec("", None, None, inputs=None, max_stop=None)
Found = Iterator[tuple[str, str | None]]  # (GLM code, message or None for the known one)


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_auth(headers: Mapping[str, str], api_key: str | None) -> ErrorReply | None:
    """401 with 1001 (no token), 1002 (wrong) or 1003 (expired JWT); ``None``: accepted."""
    raw = headers.get("authorization", "").strip()
    scheme, _, rest = raw.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else raw
    if not token:
        return ErrorReply(401, "1001")
    if api_key is None or hmac.compare_digest(token.encode(), api_key.encode()):
        return None
    key_id, _, secret = api_key.partition(".")
    parts = token.split(".")
    try:
        mac = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), "sha256").digest()
        good = bool(secret) and hmac.compare_digest(mac, _b64(parts[2]))
        claims = json.loads(_b64(parts[1])) if good and len(parts) == 3 else None
    except (ValueError, IndexError):  # binascii.Error is a ValueError
        claims = None
    if not isinstance(claims, dict) or claims.get("api_key") != key_id:
        return ErrorReply(401, "1002")
    exp = claims.get("exp")
    expired = not isinstance(exp, (int, float)) or exp < time.time() * 1000
    return ErrorReply(401, "1003") if expired else None


def _messages(body: dict[str, Any], spec: ModelSpec) -> Found:
    for i, message in enumerate(body["messages"]):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            yield "1214", _ILLEGAL
            continue
        if message["role"] == "tool" and not message.get("tool_call_id"):
            yield "1214", f"messages[{i}].tool_call_id: cannot be empty"
        content = message.get("content")
        for j, part in enumerate(content if isinstance(content, list) else []):
            where = f"messages[{i}].content[{j}]"
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                yield "1214", f"{where}: invalid content part"
                continue
            if part["type"] == "text" and not (isinstance(part.get("text"), str) and part["text"]):
                yield "1214", f"{where}.text: cannot be empty"
            kind = _MEDIA.get(part["type"])
            if kind and spec.inputs is not None and kind not in spec.inputs:
                yield "1210", f"{where}: model {spec.name} does not accept {kind} input"


def _tools(body: dict[str, Any], _: ModelSpec) -> Found:
    tools = body.get("tools")
    if tools is not None and (not isinstance(tools, list) or len(tools) > 128):
        yield "1214", "tools: must be a list of at most 128 tools"
        return
    for i, tool in enumerate(tools or []):
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            yield "1214", f"tools[{i}]: invalid tool"
            continue
        function = tool.get("function") if tool["type"] == "function" else {"name": "ok"}
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not _NAME.match(name):
            yield "1214", f"tools[{i}].function.name: must match ^[a-zA-Z0-9_-]{{1,64}}$"


def _outside(value: Any, low: float, high: float) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return value is not None and not (number and low <= value <= high)


def _limits(body: dict[str, Any], spec: ModelSpec) -> Found:
    stop, thinking, effort = body.get("stop"), body.get("thinking"), body.get("reasoning_effort")
    words = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    if spec.max_stop is not None and len(words) > spec.max_stop:
        plural = "word is" if spec.max_stop == 1 else "words are"
        yield "1210", f"stop: at most {spec.max_stop} stop {plural} supported"
    if body.get("tool_choice") not in (None, "auto"):
        yield "1210", "Tool choice must be auto"
    for name, (low, high) in (("temperature", spec.temperature), ("top_p", spec.top_p)):
        if _outside(body.get(name), low, high):
            yield "1214", f"{name}: must be between {low:g} and {high:g}"
    if _outside(body.get("max_tokens"), 1, limit := spec.max_output or 131072):
        yield "1210", f"max_tokens参数非法：限制数值范围[1,{limit}]"  # noqa: RUF001 - GLM's text
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if thinking is not None and kind not in ("enabled", "disabled"):
        yield "1214", "thinking.type: must be enabled or disabled"
    elif kind == "disabled" and spec.thinking == "always":
        yield "1210", _ALWAYS_THINKS
    if effort is not None and spec.efforts and effort not in spec.efforts:
        yield "1210", _ALWAYS_THINKS
    prompt = tokens(len(json.dumps(body["messages"], ensure_ascii=False)))
    if spec.context_window is not None and prompt > spec.context_window:
        yield "1261", None


_ROLES = frozenset({"system", "user", "assistant", "tool"})
_CHECKS = (_messages, _tools, _limits)  # in the service's order


def check_body(body: Any, models: Collection[str]) -> ErrorReply | None:
    """Check a chat-completions (or tokenizer) request body; ``None`` when acceptable."""
    if not isinstance(body, dict):
        return ErrorReply(400, "1210")
    model = body.get("model")
    if not isinstance(model, str) or model.lower() not in models:
        return ErrorReply(400, "1211")
    if not body.get("messages"):
        return ErrorReply(400, "1214", "messages: input cannot be empty")
    if not isinstance(body["messages"], list):
        return ErrorReply(400, "1214", _ILLEGAL)
    spec = spec_for(model) or _ANY_MODEL
    found = (problem for check in _CHECKS for problem in check(body, spec))
    return next((ErrorReply(400, code, message) for code, message in found), None)


class GLMService:
    """GLM's chat-completions and Batch API behaviour, scripted by a test."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        validate: bool = True,
    ) -> None:
        """Configure the behaviour.

        Args:
            api_key: Accept only this bearer key (or a valid JWT made from an ``id.secret``
                key); ``None`` accepts any non-empty key.
            models: Model ids to accept (default `DEFAULT_MODELS`).
            validate: Check request bodies as the service does (``False`` lets anything in).
        """
        self._api_key = api_key
        self.models = frozenset(m.lower() for m in (DEFAULT_MODELS if models is None else models))
        """Model ids accepted (lower case)."""
        self.validate = validate
        """Whether request bodies are validated."""
        self.batch_state: dict[str, Any] = {}
        """The Batch API store (files, batches, settings): see `advance_batches`."""
        self.web_state: dict[str, Any] = {}
        """The web search / reader / layout-parsing script: see `search_corpus`."""
        self._lock = threading.Lock()
        self._queue: deque[Answer | Script] = deque()
        self._faults: list[tuple[str, ErrorReply]] = []
        self._script: Script | None = None
        self._requests: list[RecordedRequest] = []
        self._script_errors: list[Exception] = []
        self._ids = itertools.count()  # seeds response and tool-call ids

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received since start or `reset`, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request (`LookupError` before the first)."""
        with self._lock:
            if not self._requests:
                raise LookupError("no request has been received")
            return self._requests[-1]

    @property
    def pending(self) -> int:
        """How many queued replies have not been served yet."""
        return len(self._queue)

    @property
    def script_errors(self) -> list[Exception]:
        """Exceptions raised by scripts (each was answered with HTTP 500, code ``"500"``)."""
        return list(self._script_errors)

    def reply(self, text: str = "", *, times: int = 1, **fields: Any) -> Reply:
        """Queue ``Reply(text, **fields)`` ``times`` times, and return it (fields: `Reply`)."""
        return self._add(Reply(text, **fields), times)

    def reply_error(
        self, status: int, code: str, message: str | None = None, *, times: int = 1, **fields: Any
    ) -> ErrorReply:
        """Queue ``ErrorReply(status, code, message, **fields)`` ``times`` times, and return it."""
        return self._add(ErrorReply(status, code, message, **fields), times)

    def reply_raw(
        self,
        body: bytes | str,
        status: int = 200,
        content_type: str | None = None,
        *,
        times: int = 1,
        delay_before_headers: float = 0.0,
    ) -> Plan:
        """Queue ``body`` (``str``: UTF-8) served byte for byte, e.g. a real capture; returns it."""
        raw = body.encode() if isinstance(body, str) else body
        return self._add(Plan.of(status, raw, content_type, delay_before_headers), times)

    def _add(self, answer: _A, times: int) -> _A:
        self.enqueue(*[answer] * times)
        return answer

    def enqueue(self, *items: Answer | Script) -> None:
        """Queue replies or one-shot scripts (called with the request), one per chat request."""
        with self._lock:
            self._queue.extend(items)

    def fail(self, fragment: str, status: int, code: str, message: str | None = None) -> None:
        """Answer the next request whose path contains ``fragment`` (any route) with an error."""
        with self._lock:
            self._faults.append((fragment, ErrorReply(status, code, message)))

    def script(self, fn: Script | None) -> None:
        """Answer with ``fn(request)`` while nothing is queued (``None``: off)."""
        self._script = fn

    def reset(self) -> None:
        """Forget queued replies, faults, the script, requests and script errors; restart ids."""
        with self._lock:
            for store in (self._queue, self._faults, self._requests, self._script_errors):
                store.clear()
            self._script, self._ids = None, itertools.count()

    def _record(self, request: RecordedRequest) -> tuple[int, ErrorReply | None]:
        with self._lock:
            self._requests.append(request)
            for index, (fragment, error) in enumerate(self._faults):
                if fragment in request.path:
                    del self._faults[index]
                    return next(self._ids), error
            return next(self._ids), None

    def plan(self, request: RecordedRequest) -> Plan:
        """Record one request and decide its whole response: route, auth, validation, reply."""
        seq, fault = self._record(request)
        base = next((b for b in BASE_PATHS if request.path.startswith(b + "/")), "")
        route = request.path[len(base) :] if base else ""
        batch = route.startswith(("/files", "/batches"))
        error = fault or check_auth(request.headers, self._api_key)
        if route in ("/web_search", "/reader", "/layout_parsing") and request.method == "POST":
            from langchain_glm.testing import _web  # it builds on this module

            return (
                render(error, None, seq)
                if error
                else _web.handle(request, route, self.web_state, seq)
            )
        if route not in ("/chat/completions", "/tokenizer") and not batch:
            error = ErrorReply(404, "1222", f"API does not exist: {request.path}")
        elif request.method != "POST" and not batch:
            error = ErrorReply(405, "1222", f"Method {request.method} is not allowed")
        elif error is None and batch:
            from langchain_glm.testing import _batch  # it builds on this module

            return _batch.handle(request, self.answer, self.batch_state)
        if (error := error or self._check(request.json)) is not None:
            return render(error, None, seq)
        if route == "/tokenizer":
            turn, tools = _Turn(request.json, seq), request.json.get("tools")
            count = tokens(turn.prompt_chars + (len(dumps(tools)) if tools else 0))
            usage = {"prompt_tokens": count, "image_tokens": 0, "video_tokens": 0}
            ids = {"id": turn.response_id, "created": turn.created, "request_id": turn.request_id}
            return Plan.of(200, ids | {"usage": usage | {"total_tokens": count}})
        return render(self._next(request), request.json, seq)

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer a non-stream chat body as scripted (one Batch API line)."""
        seq, body = next(self._ids), {**body, "stream": False}
        request = RecordedRequest("POST", "/chat/completions", {}, body, dumps(body))
        answer = self._check(body) or self._next(request)
        if isinstance(answer, ErrorReply):  # its JSON error, even when scripted as an HTML page
            return answer.status, error_body(answer.code, answer.message)
        plan = render(answer, body, seq)
        try:
            return plan.status, json.loads(b"".join(plan.chunks))
        except ValueError:
            return 500, error_body("500", "the scripted reply is not a JSON document")

    def _check(self, body: Any) -> ErrorReply | None:
        if self.validate:
            return check_body(body, self.models)
        return None if isinstance(body, dict) else ErrorReply(400, "1210")

    def _next(self, request: RecordedRequest) -> Answer:
        with self._lock:
            item = self._queue.popleft() if self._queue else self._script
        if isinstance(item, (Reply, ErrorReply, Plan)):
            return item
        try:
            answer = default_reply(request) if item is None else item(request)
            if not isinstance(answer, (Reply, ErrorReply, Plan)):
                raise TypeError(f"script returned {answer!r}, not a Reply, ErrorReply or Plan")
        except Exception as exc:
            self._script_errors.append(exc)
            return ErrorReply(500, "500", f"script raised {type(exc).__name__}: {exc}")
        return answer
