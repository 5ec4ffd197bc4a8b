r"""Pure rendering of scripted replies in GLM's wire format; no I/O.

Shapes follow the chat-completions reference (https://docs.z.ai/api-reference/llm/chat-completion)
and real captures. GLM-4.5/4.6-era models: non-stream keys sorted, a leading ``"\n"`` content
frame before reasoning, ``"reasoning_content": ""`` beside content deltas. GLM-4.7/5.x: no
``"\n"`` frame, no empty reasoning fields, ``object`` on every frame, ``role`` on every reasoning
and content delta, ``reasoning_tokens`` in usage, and reasoning may go straight to tool calls.
Every stream: no ``finish_reason`` before the last frame, usage on the last, ``data: [DONE]``.
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
_MODERN = ("glm-4.7", "glm-5")

KNOWN_MESSAGES: dict[str, str] = {
    "500": "Internal server error, please try again later.",
    "1000": "Authentication failed.",
    "1001": "Authorization parameter not received in header, unable to authenticate.",
    "1002": "Authorization Token is invalid, please ensure that the Authorization Token is "
    "correctly provided.",
    "1003": "Authorization Token has expired, please regenerate it.",
    "1113": "Insufficient balance or no resource package. Please recharge.",
    "1210": "Invalid API parameter, please check the documentation.",
    "1211": "Model does not exist, please check the model code.",
    "1214": "The messages parameter is illegal. Please check the documentation.",
    "1222": "API does not exist.",
    "1234": "Network error, please try again later.",
    "1261": "Prompt exceeds max length",
    "1301": "System detected potentially unsafe or sensitive content in input or generation. "
    "Please avoid using prompts that may generate sensitive content.",
    "1302": "High concurrency usage of this API, please reduce concurrency or contact customer "
    "service to increase limits",
    "1303": "High frequency usage of this API, please reduce frequency or contact customer "
    "service to increase limits",
    "1305": "The service may be temporarily overloaded, please try again later",
}
"""Messages the real service sends for well-known business codes
(https://docs.z.ai/api-reference/api-code)."""


def dumps(obj: Any, *, sort_keys: bool = False) -> bytes:
    """Encode JSON as the service does: compact UTF-8, non-ASCII unescaped."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys).encode()


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
    """What one chat request asked for, as far as rendering its reply is concerned.

    Attributes:
        seq: Sequence number of the request (seeds every generated id).
        model: The requested model.
        stream: ``stream: true`` was sent.
        tool_stream: ``tool_stream: true`` was sent.
        thinking: Reasoning may be returned (not disabled or skipped; the model thinks).
        modern: The model speaks the GLM-4.7/5.x shape.
        response_id: Beijing wall-clock ``YYYYMMDDHHMMSS`` plus 16 hex digits.
        request_id: The client's ``request_id``, else ``response_id``.
        created: Unix time of the request.
        prompt_chars: Characters of the request's messages (for default token counts).
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
        now = time.time()
        response_id = datetime.fromtimestamp(now, _BEIJING).strftime("%Y%m%d%H%M%S")
        response_id += _hex(f"id:{seq}", 16)
        thinking, model = body.get("thinking"), str(body.get("model", ""))
        spec = spec_for(model)
        disabled = isinstance(thinking, dict) and thinking.get("type") == "disabled"
        skipped = body.get("reasoning_effort") in ("none", "minimal")
        request_id = body.get("request_id")
        return cls(
            seq=seq,
            model=model,
            stream=body.get("stream") is True,
            tool_stream=body.get("tool_stream") is True,
            thinking=not (disabled or skipped) and (spec is None or spec.thinking != "none"),
            modern=model.lower().startswith(_MODERN),
            response_id=response_id,
            request_id=request_id if isinstance(request_id, str) and request_id else response_id,
            created=int(now),
            prompt_chars=len(json.dumps(body.get("messages", []), ensure_ascii=False)),
        )


@dataclass(frozen=True)
class _Resolved:
    text: str
    reasoning: str
    calls: list[tuple[str, str, str]]
    finish_reason: str
    usage: dict[str, Any]
    model: str


def _usage(given: dict[str, int], turn: Turn, reasoning: str, chars: int) -> dict[str, Any]:
    """The usage object, keys in the service's order."""
    prompt = given.get("prompt_tokens", tokens(turn.prompt_chars))
    completion = given.get("completion_tokens", tokens(chars))
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": given.get("cached_tokens", 0)},
    }
    if "reasoning_tokens" in given or turn.modern:
        derived = tokens(len(reasoning)) if reasoning else 0
        usage["completion_tokens_details"] = {
            "reasoning_tokens": given.get("reasoning_tokens", derived)
        }
    return usage


def _resolve(reply: Reply, turn: Turn) -> _Resolved:
    """Fill in a reply's defaults for one turn."""
    reasoning = (reply.reasoning or "") if turn.thinking else ""
    calls = []
    for index, call in enumerate(reply.tool_calls or ()):
        arguments = call.get("arguments", {})
        if not isinstance(arguments, str):
            arguments = dumps(arguments).decode()
        call_id = call.get("id") or tool_call_id(turn.seq, index, stream=turn.stream)
        calls.append((str(call_id), str(call["name"]), arguments))
    chars = len(reply.text) + len(reasoning) + sum(len(c[1]) + len(c[2]) for c in calls)
    return _Resolved(
        text=reply.text,
        reasoning=reasoning,
        calls=calls,
        finish_reason=reply.finish_reason or ("tool_calls" if calls else "stop"),
        usage=_usage(reply.usage or {}, turn, reasoning, chars),
        model=reply.model or turn.model,
    )


def _add_extras(obj: dict[str, Any], reply: Reply) -> None:
    if reply.web_search is not None:
        obj["web_search"] = reply.web_search
    if reply.content_filter is not None:
        obj["content_filter"] = reply.content_filter


def completion_body(reply: Reply, turn: Turn) -> dict[str, Any]:
    """The non-stream response body of a reply (serialize with sorted keys, as GLM does)."""
    r = _resolve(reply, turn)
    message: dict[str, Any] = {"role": "assistant"}
    if r.text or not r.calls or turn.modern:
        message["content"] = r.text
    if r.reasoning:
        message["reasoning_content"] = r.reasoning
    if r.calls:
        message["tool_calls"] = [
            {"id": cid, "index": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, (cid, n, a) in enumerate(r.calls)
        ]
    body: dict[str, Any] = {
        "choices": [{"finish_reason": r.finish_reason, "index": 0, "message": message}],
        "created": turn.created,
        "id": turn.response_id,
        "model": r.model,
        "request_id": turn.request_id,
        "usage": r.usage,
    }
    if reply.include_object or turn.modern:
        body["object"] = "chat.completion"
    _add_extras(body, reply)
    return body


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _call_deltas(index: int, call: tuple[str, str, str], size: int, fragments: bool) -> list[Any]:
    """One tool call: whole, or (``tool_stream``) its head then argument fragments."""
    call_id, name, arguments = call
    head = {"name": name, "arguments": "" if fragments else arguments}
    deltas: list[Any] = [
        {"tool_calls": [{"id": call_id, "index": index, "type": "function", "function": head}]}
    ]
    pieces = _pieces(arguments, size) if fragments else []
    deltas += [{"tool_calls": [{"index": index, "function": {"arguments": p}}]} for p in pieces]
    return deltas


def _deltas(r: _Resolved, size: int, turn: Turn) -> list[Any]:
    """Every delta before the final frame, in the order the model's generation sends them."""
    role = {"role": "assistant"}
    newline = [] if turn.modern or not r.reasoning else [{**role, "content": "\n"}]
    out: list[Any] = [*newline]
    out += [{**role, "reasoning_content": p} for p in _pieces(r.reasoning, size)]
    tail = {"reasoning_content": ""} if newline else {}
    out += [{**role, "content": p, **tail} for p in _pieces(r.text, size)]
    if r.calls and newline and not r.text:
        out += newline
    for index, call in enumerate(r.calls):
        out += _call_deltas(index, call, size, turn.tool_stream)
    return out


def encode_event(obj: Any) -> bytes:
    """One SSE event: a single ``data:`` line and a blank line."""
    return b"data: " + dumps(obj) + b"\n\n"


def stream_frames(reply: Reply, turn: Turn) -> list[dict[str, Any]]:
    """The JSON frames of a streamed reply (without ``[DONE]``); the last has usage."""
    r = _resolve(reply, turn)
    head: dict[str, Any] = {"id": turn.response_id, "created": turn.created}
    if reply.include_object or turn.modern:
        head["object"] = "chat.completion.chunk"
    head["model"] = r.model
    frames = [
        {**head, "choices": [{"index": 0, "delta": d}]} for d in _deltas(r, reply.chunk_size, turn)
    ]
    last = {"index": 0, "finish_reason": r.finish_reason}
    last["delta"] = {"role": "assistant", "content": ""}
    frames.append({**head, "choices": [last], "usage": r.usage})
    _add_extras(frames[0], reply)
    return frames


def tokenizer_body(body: dict[str, Any], seq: int) -> dict[str, Any]:
    """A ``POST /tokenizer`` answer: the same estimate chat replies use, plus any tools."""
    turn = Turn.from_body(body, seq)
    tools = body.get("tools")
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
    extra = f"<p>{message}</p>\r\n" if message else ""
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n{extra}<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def _malformed_event(turn: Turn) -> bytes:
    """An event of broken JSON: two frames run together mid-object."""
    start = b'{"id":"' + turn.response_id.encode() + b'","choices":[{"index":0,"delta":{"content":"'
    return b"data: " + start + b"Hel" + start + b"lo\n\n"


def _wrapped(error: dict[str, Any]) -> dict[str, Any]:
    return error if "error" in error else {"error": error}


def completion_bytes(reply: Reply, turn: Turn) -> bytes:
    """The non-stream body with its faults: a 200 error body, or truncated JSON."""
    if reply.stream_error is not None:
        body = dumps(_wrapped(reply.stream_error))
    else:
        body = dumps(completion_body(reply, turn), sort_keys=True)
    return body if reply.malformed_after is None else body[: len(body) // 2]


def stream_events(reply: Reply, turn: Turn) -> tuple[list[bytes], bool]:
    """The SSE events of a streamed reply with its faults, and whether the response completes."""
    events = [encode_event(frame) for frame in stream_frames(reply, turn)] + [DONE]
    if reply.malformed_after is not None:
        events.insert(min(reply.malformed_after, len(events) - 1), _malformed_event(turn))
    if reply.stream_error is not None:
        keep = min(reply.stream_error_after, len(events) - 1)
        events = [*events[:keep], encode_event(_wrapped(reply.stream_error))]
    if reply.cut_after is not None:
        return events[: reply.cut_after], False
    return events, True
