"""Request checks the real service makes, as pure functions returning an `ErrorReply` or ``None``.

Order matches the service: authentication first, then the body. Each body check looks at one
field, so the first failing field decides the error (glm-api.md §3, §6, §10).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from langchain_glm.testing._replies import ErrorReply

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ROLES = frozenset({"system", "user", "assistant", "tool"})
_ILLEGAL = "The messages parameter is illegal. Please check the documentation."


def _bad(code: str, message: str | None = None, status: int = 400) -> ErrorReply:
    """Shorthand for a validation error.

    Args:
        code: Business code.
        message: Message (``None``: the service's message for the code).
        status: HTTP status.

    Returns:
        The error reply.
    """
    return ErrorReply(status=status, code=code, message=message)


def _first(errors: Iterable[ErrorReply | None]) -> ErrorReply | None:
    """Return the first error of a lazy sequence of checks.

    Args:
        errors: Check results, evaluated in order until one fails.

    Returns:
        The first error, or ``None`` when every check passed.
    """
    return next((error for error in errors if error is not None), None)


def _b64(part: str) -> bytes:
    """Decode unpadded base64url.

    Args:
        part: The encoded text.

    Returns:
        The decoded bytes.
    """
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _jwt_error(token: str, api_key: str) -> str | None:
    """Check a GLM JWT (HS256, millisecond ``exp``) signed with an ``id.secret`` key (§2.2).

    Args:
        token: The bearer token.
        api_key: The key the server requires, ``id.secret``.

    Returns:
        ``None`` when valid, ``"1003"`` when expired, ``"1002"`` otherwise.
    """
    key_id, _, secret = api_key.partition(".")
    parts = token.split(".")
    if not secret or len(parts) != 3:
        return "1002"
    signed = f"{parts[0]}.{parts[1]}".encode()
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    try:
        good = hmac.compare_digest(expected, _b64(parts[2]))
        claims = json.loads(_b64(parts[1]))
    except (ValueError, binascii.Error):
        return "1002"
    if not good or not isinstance(claims, dict) or claims.get("api_key") != key_id:
        return "1002"
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp < time.time() * 1000:
        return "1003"
    return None


def check_auth(headers: Mapping[str, str], api_key: str | None) -> ErrorReply | None:
    """Check the ``Authorization`` header.

    Args:
        headers: Request headers, lower-case names.
        api_key: The one key to accept, or ``None`` to accept any non-empty token.

    Returns:
        401 with code 1001 (no token), 1002 (wrong token) or 1003 (expired JWT), else ``None``.
    """
    raw = headers.get("authorization", "").strip()
    scheme, _, rest = raw.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else raw
    if not token:
        return _bad("1001", status=401)
    if api_key is None or hmac.compare_digest(token.encode(), api_key.encode()):
        return None
    code = _jwt_error(token, api_key)
    return None if code is None else _bad(code, status=401)


def _part_error(i: int, j: int, part: Any) -> ErrorReply | None:
    """Check one content part of message ``i``: text parts must have non-empty text.

    Args:
        i: Index of the message.
        j: Index of the part.
        part: The content part.

    Returns:
        The error reply, or ``None``.
    """
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        return _bad("1214", f"messages[{i}].content[{j}]: invalid content part")
    if part["type"] == "text" and not (isinstance(part.get("text"), str) and part["text"]):
        return _bad("1214", f"messages[{i}].content[{j}].text: cannot be empty")
    return None


def _message_error(i: int, message: Any) -> ErrorReply | None:
    """Check one message: known role, tool messages name their call, parts are valid.

    Args:
        i: Index of the message.
        message: The message.

    Returns:
        The error reply, or ``None``.
    """
    if not isinstance(message, dict) or message.get("role") not in _ROLES:
        return _bad("1214", _ILLEGAL)
    if message["role"] == "tool" and not message.get("tool_call_id"):
        return _bad("1214", f"messages[{i}].tool_call_id: cannot be empty")
    content = message.get("content")
    parts = content if isinstance(content, list) else []
    return _first(_part_error(i, j, part) for j, part in enumerate(parts))


def _check_messages(body: dict[str, Any]) -> ErrorReply | None:
    """Messages must be a non-empty list of valid messages (400/1214).

    Args:
        body: The parsed request body.

    Returns:
        The error reply, or ``None`` when the field is fine.
    """
    messages = body.get("messages")
    if not messages:
        return _bad("1214", "messages: input cannot be empty")
    if not isinstance(messages, list):
        return _bad("1214", _ILLEGAL)
    return _first(_message_error(i, message) for i, message in enumerate(messages))


def _check_tools(body: dict[str, Any]) -> ErrorReply | None:
    """At most 128 tools; function names match ``^[a-zA-Z0-9_-]{1,64}$`` (400/1214).

    Args:
        body: The parsed request body.

    Returns:
        The error reply, or ``None`` when the field is fine.
    """
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list) or len(tools) > 128:
        return _bad("1214", "tools: must be a list of at most 128 tools")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            return _bad("1214", f"tools[{i}]: invalid tool")
        function = tool.get("function") if tool["type"] == "function" else {"name": "ok"}
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not _NAME.match(name):
            return _bad("1214", f"tools[{i}].function.name: must match ^[a-zA-Z0-9_-]{{1,64}}$")
    return None


def _in_range(low: float, high: float) -> Callable[[Any], bool]:
    """Build a rule accepting a missing value or a number in ``[low, high]``.

    Args:
        low: Smallest accepted value.
        high: Largest accepted value.

    Returns:
        The rule.
    """

    def rule(value: Any) -> bool:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return value is None or (number and low <= value <= high)

    return rule


_FIELD_RULES: tuple[tuple[str, Callable[[Any], bool], str, str], ...] = (
    (
        "stop",
        lambda v: v is None or isinstance(v, str) or (isinstance(v, list) and len(v) <= 1),
        "1210",
        "stop: at most 1 stop word is supported",
    ),
    ("tool_choice", lambda v: v in (None, "auto"), "1210", "Tool choice must be auto"),
    ("temperature", _in_range(0.0, 1.0), "1214", "temperature: must be between 0 and 1"),
    ("top_p", _in_range(0.01, 1.0), "1214", "top_p: must be between 0.01 and 1"),
    ("max_tokens", _in_range(1, 131072), "1214", "max_tokens: must be between 1 and 131072"),
    (
        "thinking",
        lambda v: v is None or (isinstance(v, dict) and v.get("type") in ("enabled", "disabled")),
        "1214",
        "thinking.type: must be enabled or disabled",
    ),
)
"""Single-field rules: (field, accepts the value, code, message), checked in order."""


def check_body(body: Any, models: Collection[str]) -> ErrorReply | None:
    """Check a chat-completions request body.

    Args:
        body: The parsed JSON body (``None`` when it was not JSON).
        models: Model ids the server knows.

    Returns:
        The first failing check's 400 error reply (model, messages, tools, then single
        fields), or ``None`` when the body is acceptable.
    """
    if not isinstance(body, dict):
        return _bad("1210")
    model = body.get("model")
    if not isinstance(model, str) or model not in models:
        return _bad("1211")
    error = _check_messages(body) or _check_tools(body)
    if error:
        return error
    for name, accepts, code, message in _FIELD_RULES:
        if not accepts(body.get(name)):
            return _bad(code, message)
    return None
