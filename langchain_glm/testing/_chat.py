r"""The chat family: ``/chat/completions`` and ``/tokenizer`` as pure code (no I/O).

Reply shapes as at https://docs.z.ai/api-reference/llm/chat-completion and real captures; per-model
limits from `langchain_glm._models`, the table the client reads too. GLM-4.5/4.6 sort non-stream
keys and stream a ``"\n"`` before reasoning; GLM-4.7/5.x send ``object`` and ``role`` on every
frame and ``reasoning_tokens`` in usage.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Collection, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain_glm._models import ModelSpec, spec_for
from langchain_glm.testing import _spec
from langchain_glm.testing._base import (
    JSON,
    SSE,
    Answer,
    ErrorReply,
    Host,
    RecordedRequest,
    Reply,
    WireReply,
    dumps,
    error_body,
    render_error,
    tokens,
)

_EFFORT_DEPTH = {"none": 0, "minimal": 0, "low": 1, "medium": 2, "high": 2, "xhigh": 4, "max": 4}
_BEIJING = timezone(timedelta(hours=8))


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


def render(answer: Answer, body: Any, seq: int) -> WireReply:
    """The `WireReply` of an answer to a chat request (``body``: its JSON; ``seq`` seeds ids)."""
    if isinstance(answer, ErrorReply):
        return render_error(answer)
    if isinstance(answer, WireReply):
        return answer
    delay = answer.delay_before_headers
    if answer.disconnect:
        return WireReply(delay=delay, disconnect=True)
    turn, error, complete = _Turn(body, seq, answer), answer.stream_error, answer.cut_after is None
    error = error if error is None or "error" in error else {"error": error}
    if not turn.stream:
        data = dumps(turn.body(), sort_keys=True) if error is None else dumps(error)
        data = data if answer.malformed_after is None else data[: len(data) // 2]
        sent = data if complete else data[: len(data) // 2]
        headers = {"Content-Type": JSON, "Content-Length": str(len(data))}
        return WireReply(200, headers, (sent,), delay, complete=complete)
    events = [_event(frame) for frame in turn.frames()] + [b"data: [DONE]\n\n"]
    if answer.malformed_after is not None:  # two frames run together mid-object
        start = b'{"id":"%s","choices":[{"index":0,"delta":{"content":"' % turn.response_id.encode()
        where = min(answer.malformed_after, len(events) - 1)
        events.insert(where, b"data: " + start + b"Hel" + start + b"lo\n\n")
    if error is not None:
        events = [*events[: min(answer.stream_error_after, len(events) - 1)], _event(error)]
    events = events if complete else events[: answer.cut_after]
    headers = {"Content-Type": SSE, "Cache-Control": "no-cache"}
    return WireReply(200, headers, tuple(events), delay, answer.trickle, complete)


_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ILLEGAL = "The messages parameter is illegal. Please check the documentation."
_ALWAYS_THINKS = (
    "This model always engages in thinking and cannot be disabled; please use low, high, or max"
)
_MEDIA = {"image_url": "image", "video_url": "video", "file": "file"}
_ANY_MODEL = ModelSpec("", None, None, inputs=None, max_stop=None)
Found = Iterator[tuple[str, str | None]]  # (GLM code, message or None for the known one)


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


def _documented(body: dict[str, Any], _: ModelSpec) -> Found:
    """GLM's documented schema per model family, from the server's own copy (`_spec`)."""
    return _spec.problems(body)


_CHECKS = (_messages, _tools, _limits, _documented)  # in the service's order


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


def check(host: Host, body: Any) -> ErrorReply | None:
    """The service's verdict on a chat body: `check_body` when validating, else JSON or 1210."""
    if host.validate:
        return check_body(body, host.models)
    return None if isinstance(body, dict) else ErrorReply(400, "1210")


def chat(host: Host, request: RecordedRequest, seq: int) -> WireReply:
    """Answer ``POST /chat/completions``: validate, then the next scripted `Reply` (or default)."""
    if (error := check(host, request.json)) is not None:
        return render_error(error)
    return render(host.next_answer(request, default_reply), request.json, seq)


def tokenizer(host: Host, request: RecordedRequest, seq: int) -> WireReply:
    """Answer ``POST /tokenizer``: the prompt's token count, rough and deterministic."""
    if (error := check(host, request.json)) is not None:
        return render_error(error)
    turn, tools = _Turn(request.json, seq), request.json.get("tools")
    count = tokens(turn.prompt_chars + (len(dumps(tools)) if tools else 0))
    usage = {"prompt_tokens": count, "image_tokens": 0, "video_tokens": 0}
    ids = {"id": turn.response_id, "created": turn.created, "request_id": turn.request_id}
    return WireReply.of(200, ids | {"usage": usage | {"total_tokens": count}})


def batch_line(host: Host, body: dict[str, Any], seq: int) -> tuple[int, dict[str, Any]]:
    """Answer one Batch API line's chat body (non-stream) as scripted: ``(status, JSON body)``."""
    body = {**body, "stream": False}
    request = RecordedRequest("POST", "/chat/completions", {}, body, dumps(body))
    answer = check(host, body) or host.next_answer(request, default_reply)
    if isinstance(answer, ErrorReply):  # its JSON error, even when scripted as an HTML page
        return answer.status, error_body(answer.code, answer.message)
    plan = render(answer, body, seq)
    try:
        return plan.status, json.loads(b"".join(plan.chunks))
    except ValueError:
        return 500, error_body("500", "the scripted reply is not a JSON document")
