"""Request checks the real service makes, as pure functions returning an `ErrorReply` or ``None``.

Authentication first, then the body; the first failing check decides. Per-model limits come
from the capability table `langchain_glm._models`, which the client's pre-send checks read too.
Error bodies are GLM's as captured (https://docs.z.ai/api-reference/api-code), media ones ours.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Collection, Iterator, Mapping
from typing import Any

from langchain_glm._models import ModelSpec, spec_for
from langchain_glm.testing._replies import ErrorReply
from langchain_glm.testing._wire import tokens

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ROLES = frozenset({"system", "user", "assistant", "tool"})
_ILLEGAL = "The messages parameter is illegal. Please check the documentation."
_ALWAYS_THINKS = (
    "This model always engages in thinking and cannot be disabled; please use low, high, or max"
)
_MEDIA = {"image_url": "image", "video_url": "video", "file": "file"}
_ANY_MODEL = ModelSpec("", None, None, inputs=None, max_stop=None)
Found = Iterator[tuple[str, str | None]]  # (GLM code, message or None for the known one)


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _jwt_error(token: str, api_key: str) -> str | None:
    """``None`` for a valid GLM JWT (HS256, ms ``exp``) of an ``id.secret`` key, else a code."""
    key_id, _, secret = api_key.partition(".")
    parts = token.split(".")
    if not secret or len(parts) != 3:
        return "1002"
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256)
    try:
        good = hmac.compare_digest(expected.digest(), _b64(parts[2]))
        claims = json.loads(_b64(parts[1]))
    except (ValueError, binascii.Error):
        return "1002"
    if not good or not isinstance(claims, dict) or claims.get("api_key") != key_id:
        return "1002"
    exp = claims.get("exp")
    return "1003" if not isinstance(exp, (int, float)) or exp < time.time() * 1000 else None


def check_auth(headers: Mapping[str, str], api_key: str | None) -> ErrorReply | None:
    """401 with 1001 (no token), 1002 (wrong) or 1003 (expired JWT); ``None``: accepted.

    Args:
        headers: Request headers, lower-case names.
        api_key: The one key to accept, or ``None`` to accept any non-empty token.
    """
    raw = headers.get("authorization", "").strip()
    scheme, _, rest = raw.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else raw
    if not token:
        return ErrorReply(401, "1001")
    if api_key is None or hmac.compare_digest(token.encode(), api_key.encode()):
        return None
    code = _jwt_error(token, api_key)
    return None if code is None else ErrorReply(401, code)


def _messages(body: dict[str, Any], spec: ModelSpec) -> Found:
    """Known roles, tool messages name their call, typed non-empty parts the model takes."""
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
    """At most 128 tools; function names match ``^[a-zA-Z0-9_-]{1,64}$``."""
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


def _options(body: dict[str, Any], spec: ModelSpec) -> Found:
    """Single fields against the model's limits: stop, tool_choice, ranges, max_tokens."""
    stop = body.get("stop")
    words = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    if spec.max_stop is not None and len(words) > spec.max_stop:
        plural = "word is" if spec.max_stop == 1 else "words are"
        yield "1210", f"stop: at most {spec.max_stop} stop {plural} supported"
    if body.get("tool_choice") not in (None, "auto"):
        yield "1210", "Tool choice must be auto"
    for name, (low, high) in (("temperature", spec.temperature), ("top_p", spec.top_p)):
        if _outside(body.get(name), low, high):
            yield "1214", f"{name}: must be between {low:g} and {high:g}"
    limit = spec.max_output or 131072
    if _outside(body.get("max_tokens"), 1, limit):
        yield "1210", f"max_tokens参数非法：限制数值范围[1,{limit}]"  # noqa: RUF001 - GLM's text


def _thinking(body: dict[str, Any], spec: ModelSpec) -> Found:
    """``thinking.type`` is enabled/disabled; always-thinking models refuse to stop."""
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if thinking is not None and kind not in ("enabled", "disabled"):
        yield "1214", "thinking.type: must be enabled or disabled"
    elif kind == "disabled" and spec.thinking == "always":
        yield "1210", _ALWAYS_THINKS
    effort = body.get("reasoning_effort")
    if effort is not None and spec.efforts and effort not in spec.efforts:
        yield "1210", _ALWAYS_THINKS


def _context(body: dict[str, Any], spec: ModelSpec) -> Found:
    """The prompt fits the model's context window (the token estimate replies use)."""
    prompt = tokens(len(json.dumps(body["messages"], ensure_ascii=False)))
    if spec.context_window is not None and prompt > spec.context_window:
        yield "1261", None


_CHECKS = (_messages, _tools, _options, _thinking, _context)  # in the service's order


def check_body(body: Any, models: Collection[str]) -> ErrorReply | None:
    """Check a chat-completions (or tokenizer) request body; ``None`` when acceptable.

    Args:
        body: The parsed JSON body (``None`` when it was not JSON).
        models: Lower-case model ids the service knows.
    """
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
