r"""Pure rendering of scripted replies in GLM's wire format (no I/O).

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
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain_glm._models import spec_for
from langchain_glm.testing._replies import Reply

DONE = b"data: [DONE]\n\n"
_BEIJING = timezone(timedelta(hours=8))
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


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ENCODE_SORTED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def dumps(obj: Any, *, sort_keys: bool = False) -> bytes:
    """Encode JSON as the service does: compact UTF-8, non-ASCII unescaped."""
    return (_ENCODE_SORTED if sort_keys else _ENCODE)(obj).encode()


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def tokens(chars: int) -> int:
    """Rough, deterministic token count: four characters a token, at least one."""
    return max(1, math.ceil(chars / 4))


def tool_call_id(seq: int, index: int, *, stream: bool) -> str:
    """A deterministic tool-call id: ``call_<24 hex>`` in streams, ``call_-<19 digits>`` else."""
    digest = _hex(f"call:{seq}:{index}", 24)
    return f"call_{digest}" if stream else f"call_-{10**18 + int(digest, 16) % (9 * 10**18)}"


@dataclass(frozen=True)
class Turn:
    """What one chat request asked for, as far as rendering its reply goes.

    ``thinking``: reasoning may be returned; ``modern``: GLM-4.7/5.x shapes; ``response_id``:
    Beijing ``YYYYMMDDHHMMSS`` plus 16 hex digits; ``request_id``: the client's, else that.
    """

    seq: int
    model: str
    stream: bool
    tool_stream: bool
    thinking: bool
    modern: bool
    response_id: str
    request_id: str
    created: int
    prompt_chars: int

    @classmethod
    def from_body(cls, body: dict[str, Any], seq: int) -> Turn:
        """Build the turn of a validated request body."""
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


def _usage(given: dict[str, int], turn: Turn, reasoning: str, chars: int) -> dict[str, Any]:
    """The usage object, keys in the service's order."""
    prompt = given.get("prompt_tokens", tokens(turn.prompt_chars))
    completion = given.get("completion_tokens", tokens(chars))
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
    usage["total_tokens"] = prompt + completion
    usage["prompt_tokens_details"] = {"cached_tokens": given.get("cached_tokens", 0)}
    if "reasoning_tokens" in given or turn.modern:
        derived = tokens(len(reasoning)) if reasoning else 0
        usage["completion_tokens_details"] = {
            "reasoning_tokens": given.get("reasoning_tokens", derived)
        }
    return usage


@dataclass(frozen=True)
class _Resolved:
    """A reply with its defaults filled in for one turn."""

    reasoning: str
    calls: list[tuple[str, str, str]]
    finish_reason: str
    usage: dict[str, Any]
    model: str

    @classmethod
    def of(cls, reply: Reply, turn: Turn) -> _Resolved:
        reasoning = (reply.reasoning or "") if turn.thinking else ""
        calls = []
        for index, call in enumerate(reply.tool_calls or ()):
            args = call.get("arguments", {})
            args = args if isinstance(args, str) else dumps(args).decode()
            call_id = call.get("id") or tool_call_id(turn.seq, index, stream=turn.stream)
            calls.append((str(call_id), str(call["name"]), args))
        chars = len(reply.text) + len(reasoning) + sum(len(c[1]) + len(c[2]) for c in calls)
        finish = reply.finish_reason or ("tool_calls" if calls else "stop")
        usage = _usage(reply.usage or {}, turn, reasoning, chars)
        return cls(reasoning, calls, finish, usage, reply.model or turn.model)


def _extras(reply: Reply) -> dict[str, Any]:
    """The top-level ``web_search`` and ``content_filter`` a reply asks for."""
    pairs = (("web_search", reply.web_search), ("content_filter", reply.content_filter))
    return {key: value for key, value in pairs if value is not None}


def completion_body(reply: Reply, turn: Turn) -> dict[str, Any]:
    """The non-stream response body of a reply (GLM serializes it with sorted keys)."""
    r = _Resolved.of(reply, turn)
    message: dict[str, Any] = {"role": "assistant"}
    if reply.text or not r.calls or turn.modern:
        message["content"] = reply.text
    if r.reasoning:
        message["reasoning_content"] = r.reasoning
    if r.calls:
        message["tool_calls"] = [
            {"id": cid, "index": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, (cid, n, a) in enumerate(r.calls)
        ]
    choice = {"finish_reason": r.finish_reason, "index": 0, "message": message}
    body = {"choices": [choice], "created": turn.created, "id": turn.response_id}
    body |= {"model": r.model, "request_id": turn.request_id, "usage": r.usage}
    if reply.include_object or turn.modern:
        body["object"] = "chat.completion"
    return body | _extras(reply)


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _deltas(reply: Reply, r: _Resolved, turn: Turn) -> list[Any]:
    """Every delta before the final frame, in the order the model's generation sends them."""
    role, size = {"role": "assistant"}, reply.chunk_size
    newline = [] if turn.modern or not r.reasoning else [{**role, "content": "\n"}]
    out: list[Any] = [
        *newline,
        *({**role, "reasoning_content": p} for p in _pieces(r.reasoning, size)),
    ]
    tail = {"reasoning_content": ""} if newline else {}
    out += [{**role, "content": p, **tail} for p in _pieces(reply.text, size)]
    out += newline if r.calls and not reply.text else []
    for i, (call_id, name, args) in enumerate(r.calls):
        head = {"name": name, "arguments": "" if turn.tool_stream else args}
        out.append(
            {"tool_calls": [{"id": call_id, "index": i, "type": "function", "function": head}]}
        )
        fragments = _pieces(args, size) if turn.tool_stream else []
        out += [{"tool_calls": [{"index": i, "function": {"arguments": p}}]} for p in fragments]
    return out


def encode_event(obj: Any) -> bytes:
    """One SSE event: a single ``data:`` line and a blank line."""
    return b"data: " + dumps(obj) + b"\n\n"


def stream_frames(reply: Reply, turn: Turn) -> list[dict[str, Any]]:
    """The JSON frames of a streamed reply (without ``[DONE]``); the last carries usage."""
    r = _Resolved.of(reply, turn)
    head: dict[str, Any] = {"id": turn.response_id, "created": turn.created}
    if reply.include_object or turn.modern:
        head["object"] = "chat.completion.chunk"
    head["model"] = r.model
    frames = [{**head, "choices": [{"index": 0, "delta": d}]} for d in _deltas(reply, r, turn)]
    last = {
        "index": 0,
        "finish_reason": r.finish_reason,
        "delta": {"role": "assistant", "content": ""},
    }
    frames.append({**head, "choices": [last], "usage": r.usage})
    frames[0] |= _extras(reply)
    return frames


def tokenizer_body(body: dict[str, Any], seq: int) -> dict[str, Any]:
    """A ``POST /tokenizer`` answer: the estimate chat replies use, plus any tools."""
    turn, tools = Turn.from_body(body, seq), body.get("tools")
    count = tokens(turn.prompt_chars + (len(dumps(tools)) if tools else 0))
    usage = {"prompt_tokens": count, "image_tokens": 0, "video_tokens": 0, "total_tokens": count}
    return {
        "id": turn.response_id,
        "created": turn.created,
        "request_id": turn.request_id,
        "usage": usage,
    }


def error_body(code: str, message: str | None) -> dict[str, Any]:
    """GLM's error object, with the real message for well-known codes when none is given."""
    code = str(code)  # an int slipped in by a test still goes out as GLM's string code
    text = message if message is not None else KNOWN_MESSAGES.get(code, f"Error {code}.")
    return {"error": {"code": code, "message": text}}


def html_page(status: int, reason: str, message: str | None) -> bytes:
    """A gateway-style (nginx) HTML error page."""
    title, extra = f"{status} {reason}", f"<p>{message}</p>\r\n" if message else ""
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1>"
        f"</center>\r\n{extra}<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


def _wrapped(error: dict[str, Any]) -> dict[str, Any]:
    return error if "error" in error else {"error": error}


def completion_bytes(reply: Reply, turn: Turn) -> bytes:
    """The non-stream body with its faults: a 200 error body, or truncated JSON."""
    error = reply.stream_error
    body = dumps(_wrapped(error)) if error is not None else None
    body = body or dumps(completion_body(reply, turn), sort_keys=True)
    return body if reply.malformed_after is None else body[: len(body) // 2]


def stream_events(reply: Reply, turn: Turn) -> tuple[list[bytes], bool]:
    """The SSE events of a streamed reply with its faults, and whether the response completes."""
    events = [encode_event(frame) for frame in stream_frames(reply, turn)] + [DONE]
    if reply.malformed_after is not None:  # two frames run together mid-object
        start = b'{"id":"%s","choices":[{"index":0,"delta":{"content":"' % turn.response_id.encode()
        where = min(reply.malformed_after, len(events) - 1)
        events.insert(where, b"data: " + start + b"Hel" + start + b"lo\n\n")
    if (error := reply.stream_error) is not None:
        keep = min(reply.stream_error_after, len(events) - 1)
        events = [*events[:keep], encode_event(_wrapped(error))]
    if reply.cut_after is not None:
        return events[: reply.cut_after], False
    return events, True
