r"""Pure rendering of scripted replies into GLM's wire format (glm-api.md §4, §5, §6, §8.1).

No I/O here: functions take a `Reply` plus the `Turn` (what the request asked for) and return
bytes. Shapes follow the real captures: non-stream keys sorted alphabetically, stream frames
``data: {json}\n\n`` with keys in the service's order, no ``finish_reason`` key before the last
frame, usage on the last frame, ``data: [DONE]`` at the end.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain_glm.testing._replies import Reply

DONE = b"data: [DONE]\n\n"
"""The last event of every complete stream."""

NON_THINKING_MODELS = frozenset({"glm-4-32b-0414-128k"})
"""Models that never return reasoning (thinking is GLM-4.5+)."""

_BEIJING = timezone(timedelta(hours=8))

KNOWN_MESSAGES: dict[str, str] = {
    "500": "Internal server error, please try again later.",
    "1000": "Authentication failed.",
    "1001": "Authorization parameter not received in header, unable to authenticate.",
    "1002": (
        "Authorization Token is invalid, please ensure that the Authorization Token is "
        "correctly provided."
    ),
    "1003": "Authorization Token has expired, please regenerate it.",
    "1113": "Insufficient balance or no resource package. Please recharge.",
    "1210": "Invalid API parameter, please check the documentation.",
    "1211": "Model does not exist, please check the model code.",
    "1214": "The messages parameter is illegal. Please check the documentation.",
    "1222": "API does not exist.",
    "1234": "Network error, please try again later.",
    "1261": "Prompt exceeds max length.",
    "1301": (
        "System detected potentially unsafe or sensitive content in input or generation. "
        "Please avoid using prompts that may generate sensitive content."
    ),
    "1302": (
        "High concurrency usage of this API, please reduce concurrency or contact customer "
        "service to increase limits"
    ),
    "1303": (
        "High frequency usage of this API, please reduce frequency or contact customer "
        "service to increase limits"
    ),
    "1305": "The service may be temporarily overloaded, please try again later",
}
"""Messages the real service sends for well-known business codes (glm-api.md §6)."""


def dumps(obj: Any, *, sort_keys: bool = False) -> bytes:
    """Encode JSON the way the service does: compact, UTF-8, non-ASCII unescaped.

    Args:
        obj: The value to encode.
        sort_keys: Sort object keys (the service does for non-stream bodies).

    Returns:
        The encoded bytes.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
    return text.encode()


def _hex(seed: str, length: int) -> str:
    """Deterministic hex digits derived from ``seed``.

    Args:
        seed: Any string.
        length: How many hex digits (at most 64).

    Returns:
        The first ``length`` hex digits of the seed's SHA-256.
    """
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def tool_call_id(seq: int, index: int, *, stream: bool) -> str:
    """A deterministic tool-call id in the real format for the response kind.

    Args:
        seq: Sequence number of the request since the server started or was reset.
        index: Position of the call in the reply.
        stream: Whether the response is streamed.

    Returns:
        ``call_`` + 24 hex digits for streams, ``call_-`` + 19 digits otherwise (quirk 7).
    """
    digest = _hex(f"call:{seq}:{index}", 24)
    if stream:
        return f"call_{digest}"
    return f"call_-{10**18 + int(digest, 16) % (9 * 10**18)}"


@dataclass(frozen=True)
class Turn:
    """What one chat request asked for, as far as rendering the reply is concerned."""

    seq: int
    """Sequence number of the request (seeds every generated id)."""

    model: str
    """The requested model."""

    stream: bool
    """``stream: true`` was sent."""

    tool_stream: bool
    """``tool_stream: true`` was sent (only meaningful with ``stream``)."""

    thinking: bool
    """Reasoning may be returned (thinking not disabled and the model can think)."""

    response_id: str
    """The response ``id``: Beijing wall-clock ``YYYYMMDDHHMMSS`` plus 16 hex digits."""

    request_id: str
    """The client's ``request_id``, else ``response_id``."""

    created: int
    """Unix time of the request."""

    prompt_chars: int
    """Characters of message text in the request (for default token counts)."""

    @classmethod
    def from_body(cls, body: dict[str, Any], seq: int) -> Turn:
        """Build the turn of a validated request body.

        Args:
            body: The parsed, validated request body.
            seq: Sequence number of the request.

        Returns:
            The turn.
        """
        now = time.time()
        stamp = datetime.fromtimestamp(now, _BEIJING).strftime("%Y%m%d%H%M%S")
        response_id = stamp + _hex(f"id:{seq}", 16)
        thinking = body.get("thinking")
        disabled = isinstance(thinking, dict) and thinking.get("type") == "disabled"
        request_id = body.get("request_id")
        model = str(body.get("model", ""))
        return cls(
            seq=seq,
            model=model,
            stream=body.get("stream") is True,
            tool_stream=body.get("tool_stream") is True,
            thinking=not disabled and model not in NON_THINKING_MODELS,
            response_id=response_id,
            request_id=request_id if isinstance(request_id, str) and request_id else response_id,
            created=int(now),
            prompt_chars=len(json.dumps(body.get("messages", []), ensure_ascii=False)),
        )


@dataclass(frozen=True)
class _Resolved:
    """A reply with every default filled in for one turn."""

    text: str
    reasoning: str
    calls: list[tuple[str, str, str]]
    finish_reason: str
    usage: dict[str, Any]
    model: str


def _tokens(chars: int) -> int:
    """Rough, deterministic token count: four characters a token, at least one.

    Args:
        chars: Number of characters.

    Returns:
        The token count.
    """
    return max(1, math.ceil(chars / 4))


def _usage(given: dict[str, int], prompt_chars: int, completion_chars: int) -> dict[str, Any]:
    """Build the usage object, keys in the order the service sends them.

    Args:
        given: Counts scripted by the test (may be empty).
        prompt_chars: Characters in the request, for a default ``prompt_tokens``.
        completion_chars: Characters generated, for a default ``completion_tokens``.

    Returns:
        The usage object.
    """
    prompt = given.get("prompt_tokens", _tokens(prompt_chars))
    completion = given.get("completion_tokens", _tokens(completion_chars))
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": given.get("cached_tokens", 0)},
    }
    if "reasoning_tokens" in given:
        usage["completion_tokens_details"] = {"reasoning_tokens": given["reasoning_tokens"]}
    return usage


def _resolve(reply: Reply, turn: Turn) -> _Resolved:
    """Fill in a reply's defaults for a turn.

    Args:
        reply: The scripted reply.
        turn: The request it answers.

    Returns:
        The resolved reply.
    """
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
        usage=_usage(reply.usage or {}, turn.prompt_chars, chars),
        model=reply.model or turn.model,
    )


def _add_extras(obj: dict[str, Any], reply: Reply) -> None:
    """Add the top-level ``web_search`` / ``content_filter`` fields a reply asks for.

    Args:
        obj: A response body or stream frame, changed in place.
        reply: The scripted reply.
    """
    if reply.web_search is not None:
        obj["web_search"] = reply.web_search
    if reply.content_filter is not None:
        obj["content_filter"] = reply.content_filter


def completion_body(reply: Reply, turn: Turn) -> bytes:
    """Render a non-stream response body (keys sorted, as the service sends them).

    Args:
        reply: The scripted reply.
        turn: The request it answers.

    Returns:
        The JSON body.
    """
    r = _resolve(reply, turn)
    message: dict[str, Any] = {"role": "assistant"}
    if r.text or not r.calls:
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
        "created": int(time.time()),
        "id": turn.response_id,
        "model": r.model,
        "request_id": turn.request_id,
        "usage": r.usage,
    }
    if reply.include_object:
        body["object"] = "chat.completion"
    _add_extras(body, reply)
    return dumps(body, sort_keys=True)


def _pieces(text: str, size: int) -> list[str]:
    """Split text into pieces of ``size`` characters.

    Args:
        text: The text.
        size: Characters per piece.

    Returns:
        The pieces (none for empty text).
    """
    return [text[i : i + size] for i in range(0, len(text), size)]


def _call_deltas(index: int, call: tuple[str, str, str], size: int, fragments: bool) -> list[Any]:
    """Deltas of one tool call: whole, or (``tool_stream``) head then argument fragments.

    Args:
        index: Position of the call.
        call: ``(id, name, arguments)``.
        size: Characters per argument fragment.
        fragments: Whether ``tool_stream`` was requested.

    Returns:
        The delta objects.
    """
    call_id, name, arguments = call
    head = {"name": name, "arguments": "" if fragments else arguments}
    deltas: list[Any] = [
        {"tool_calls": [{"id": call_id, "index": index, "type": "function", "function": head}]}
    ]
    if fragments:
        deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            for piece in _pieces(arguments, size)
        ]
    return deltas


def _deltas(r: _Resolved, size: int, tool_stream: bool) -> list[Any]:
    """All deltas before the final frame, in the order the service sends them (§5.3, T3, T5).

    Args:
        r: The resolved reply.
        size: Characters per frame.
        tool_stream: Whether tool-call arguments are streamed in fragments.

    Returns:
        The delta objects.
    """
    newline = {"role": "assistant", "content": "\n"}
    out: list[Any] = []
    if r.reasoning:
        out.append(newline)
        out += [{"role": "assistant", "reasoning_content": p} for p in _pieces(r.reasoning, size)]
    tail = {"reasoning_content": ""} if r.reasoning else {}
    out += [{"role": "assistant", "content": p, **tail} for p in _pieces(r.text, size)]
    if r.calls and r.reasoning and not r.text:
        out.append(newline)
    for index, call in enumerate(r.calls):
        out += _call_deltas(index, call, size, tool_stream)
    return out


def encode_event(obj: Any) -> bytes:
    """Encode one SSE event: a single ``data:`` line and a blank line.

    Args:
        obj: The JSON value of the frame.

    Returns:
        The event bytes.
    """
    return b"data: " + dumps(obj) + b"\n\n"


def stream_frames(reply: Reply, turn: Turn) -> list[dict[str, Any]]:
    """Render the JSON frames of a streamed reply (without ``[DONE]``).

    Args:
        reply: The scripted reply.
        turn: The request it answers.

    Returns:
        The frame objects; the last one carries ``finish_reason`` and ``usage``.
    """
    r = _resolve(reply, turn)
    head: dict[str, Any] = {"id": turn.response_id, "created": turn.created, "model": r.model}
    if reply.include_object:
        head["object"] = "chat.completion.chunk"
    frames = [
        {**head, "choices": [{"index": 0, "delta": d}]}
        for d in _deltas(r, reply.chunk_size, turn.tool_stream)
    ]
    last = {
        "index": 0,
        "finish_reason": r.finish_reason,
        "delta": {"role": "assistant", "content": ""},
    }
    frames.append({**head, "choices": [last], "usage": r.usage})
    _add_extras(frames[0], reply)
    return frames


def tokenizer_payload(body: dict[str, Any], seq: int) -> bytes:
    """Body of a `POST /tokenizer` answer: the prompt's token count, as GLM reports it.

    The count is the same deterministic estimate the chat replies use for
    ``prompt_tokens`` of the same messages, plus the characters of any ``tools``.

    Args:
        body: The validated request body (``model``, ``messages``, optional ``tools``).
        seq: Sequence number of the request (seeds the id).

    Returns:
        ``{"id", "created", "request_id", "usage": {prompt_tokens, image_tokens,
        video_tokens, total_tokens}}`` as JSON.
    """
    turn = Turn.from_body(body, seq)
    tools = body.get("tools")
    tokens = _tokens(turn.prompt_chars + (len(dumps(tools)) if tools else 0))
    usage = {"prompt_tokens": tokens, "image_tokens": 0, "video_tokens": 0, "total_tokens": tokens}
    return dumps(
        {
            "id": turn.response_id,
            "created": turn.created,
            "request_id": turn.request_id,
            "usage": usage,
        }
    )


def error_payload(code: str, message: str | None) -> dict[str, Any]:
    """GLM's error object, with the real message for well-known codes when none is given.

    Args:
        code: Business code.
        message: Message, or ``None``.

    Returns:
        ``{"error": {"code": code, "message": message}}``.
    """
    code = str(code)  # an int slipped in by a test still goes out as GLM's string code
    text = message if message is not None else KNOWN_MESSAGES.get(code, f"Error {code}.")
    return {"error": {"code": code, "message": text}}


def html_page(status: int, reason: str, message: str | None) -> bytes:
    """A gateway-style HTML error page (what a proxy in front of the API may send).

    Args:
        status: HTTP status.
        reason: Reason phrase.
        message: Optional extra line.

    Returns:
        The page bytes.
    """
    extra = f"<p>{message}</p>\r\n" if message else ""
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n{extra}<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def malformed_event(turn: Turn) -> bytes:
    """An SSE event whose data is broken JSON: two frames run together mid-object (§5.1).

    Args:
        turn: The request being answered.

    Returns:
        The event bytes.
    """
    start = b'{"id":"' + turn.response_id.encode() + b'","choices":[{"index":0,"delta":{"content":"'
    return b"data: " + start + b"Hel" + start + b"lo\n\n"


def error_frame_payload(error: dict[str, Any]) -> dict[str, Any]:
    """Wrap a scripted error object as ``{"error": {...}}`` unless it is wrapped already.

    Args:
        error: ``{"code": ..., "message": ...}``, or a whole payload with an ``"error"`` key.

    Returns:
        The payload.
    """
    return error if "error" in error else {"error": error}


def completion_payload(reply: Reply, turn: Turn) -> bytes:
    """The non-stream body of a reply, with its body faults applied.

    Args:
        reply: The scripted reply.
        turn: The request it answers.

    Returns:
        ``{"error": ...}`` for ``stream_error``, truncated JSON for ``malformed_after``, else
        the completion body.
    """
    if reply.stream_error is not None:
        body = dumps(error_frame_payload(reply.stream_error))
    else:
        body = completion_body(reply, turn)
    return body if reply.malformed_after is None else body[: len(body) // 2]


def stream_events(reply: Reply, turn: Turn) -> tuple[list[bytes], bool]:
    """The SSE events of a streamed reply, with its stream faults applied.

    Args:
        reply: The scripted reply.
        turn: The request it answers.

    Returns:
        ``(events, complete)``: the encoded events to send, and whether the HTTP response ends
        properly afterwards (``False`` when the connection is to be cut).
    """
    events = [encode_event(frame) for frame in stream_frames(reply, turn)] + [DONE]
    if reply.malformed_after is not None:
        events.insert(min(reply.malformed_after, len(events) - 1), malformed_event(turn))
    if reply.stream_error is not None:
        keep = min(reply.stream_error_after, len(events) - 1)
        events = [*events[:keep], encode_event(error_frame_payload(reply.stream_error))]
    if reply.cut_after is not None:
        return events[: reply.cut_after], False
    return events, True
