"""`auto_reply`: a script answering like a cooperative GLM model, from the request JSON alone."""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_glm._models import spec_for
from langchain_glm.testing._base import RecordedRequest, Reply
from langchain_glm.testing._chat import last_user_text, reasoning_for

_QUOTED = re.compile("(?<!\\w)'([^']+)'(?!\\w)|\"([^\"]+)\"|\u201c([^\u201d]+)\u201d")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


_NUMBER_TERM = r"[(\s]*-?\d+(?:\.\d+)?[\s)]*"
_ARITHMETIC = re.compile(rf"{_NUMBER_TERM}(?:(?:\*\*|//|[-+*/%]){_NUMBER_TERM})+")
_TIME_QUESTION = re.compile(r"\b(?:time|date|clock|what day|today)\b", re.I)
_ZONE = re.compile(r"\b[A-Z][A-Za-z_]+/[A-Z][A-Za-z_]+\b|\bUTC\b")
_MATH_TOOL = re.compile(r"calcul|arithmetic|math|expression", re.I)
_TIME_TOOL = re.compile(r"time|clock|date", re.I)
_ASKS_FOR_TOOLS = re.compile(r"\btools?\b", re.I)


def auto_reply(request: RecordedRequest) -> Reply:
    """Decide the reply to one chat-completions request from its JSON body alone.

    ``server.script(auto_reply)`` (or ``python -m langchain_glm.testing --auto``) gives notebooks,
    demos and agent tests plausible answers, never reading the client's own prompt wording:
    after a tool result, text quoting it; with function tools bound, a call only where the
    request fits a tool (see `pick_tool`), arguments from its JSON schema and the user's words
    (an arithmetic span, a time zone, quoted strings, numbers); ``response_format``
    ``json_object``: an object filling the last JSON schema in the messages, else
    ``{"answer": <user text>}``; otherwise text, cut at the ``stop`` word. Reasoning follows
    ``reasoning_effort``; with thinking off there is none, and no reasoning tokens.
    """
    body: dict[str, Any] = request.json
    messages: list[dict[str, Any]] = body["messages"]
    said = last_user_text(body)
    reasoning = reasoning_for(body, said) if thinks(body) else ""
    usage = {"reasoning_tokens": len(reasoning) // 4, "cached_tokens": 2}
    if messages[-1].get("role") == "tool":
        text = f"The tool says: {messages[-1].get('content')}"
        return Reply(text=text, reasoning=reasoning, usage=usage)
    tools = [t["function"] for t in body.get("tools") or [] if t.get("type") == "function"]
    picked = pick_tool(tools, said, _system_text(messages))
    if picked is not None:
        tool, arguments = picked
        call = {"name": tool["name"], "arguments": arguments}
        return Reply(reasoning=reasoning, tool_calls=[call], usage=usage)
    if (body.get("response_format") or {}).get("type") == "json_object":
        schema = _schema_in(messages)
        value = fill(schema, said) if schema else None
        obj = value if isinstance(value, dict) else {"answer": said}
        return Reply(text=json.dumps(obj, ensure_ascii=False), reasoning=reasoning, usage=usage)
    text = f"Hi there! Here is my answer to you: {said}"
    stop = body.get("stop")
    word = stop[0] if isinstance(stop, list) and stop else stop
    if isinstance(word, str) and word and word in text:
        text = text[: text.index(word)]
    return Reply(text=text, reasoning=reasoning, usage=usage)


def thinks(body: dict[str, Any]) -> bool:
    """Whether the request's model thinks with the request's settings.

    Args:
        body: The request body.

    Returns:
        False with ``thinking`` disabled, effort ``none``/``minimal``, or a model that
        never thinks; else True.
    """
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "disabled":
        return False
    if body.get("reasoning_effort") in ("none", "minimal"):
        return False
    spec = spec_for(str(body.get("model", "")))
    return spec is None or spec.thinking != "none"


def pick_tool(
    tools: list[dict[str, Any]], said: str, system: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The tool a cooperative model would call, with its arguments, or None to answer in text.

    A tool fits when the user names it (or a word of its name, such as ``weather`` for
    ``get_weather``); when the message holds an arithmetic span and the tool is a calculator
    (one string parameter; the span is the argument) or takes only numbers; when the message
    is a time question and the tool tells time. Asked for tools (by the user or a system
    message), the model calls the fitting tool, else the first.

    Args:
        tools: The request's function tools.
        said: The last user message.
        system: The system messages' text.

    Returns:
        ``(tool, arguments)``, or None.
    """
    for tool in tools:
        arguments = _fits(tool, said)
        if arguments is not None:
            return tool, arguments
    if tools and (_ASKS_FOR_TOOLS.search(said) or _ASKS_FOR_TOOLS.search(system)):
        return tools[0], fill(tools[0].get("parameters") or {}, said)
    return None


def _fits(tool: dict[str, Any], said: str) -> dict[str, Any] | None:
    """Arguments for ``tool`` when the message fits it, else None."""
    schema: dict[str, Any] = tool.get("parameters") or {}
    name, about = str(tool.get("name", "")), f"{tool.get('name', '')} {tool.get('description', '')}"
    words = {w for w in re.split(r"[^a-z0-9]+", name.lower()) if len(w) >= 4}
    named = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", said) if name else None
    if named or any(re.search(rf"\b{w}", said.lower()) for w in words):
        return _as_dict(fill(schema, said))
    props: dict[str, Any] = schema.get("properties") or {}
    kinds = [p.get("type") for p in props.values() if isinstance(p, dict)]
    span = arithmetic_span(said)
    if span and props and kinds == ["string"] and _MATH_TOOL.search(about):
        return {next(iter(props)): span}
    if span and props and all(k in ("integer", "number") for k in kinds):
        return _as_dict(fill(schema, span))
    if _TIME_QUESTION.search(said) and _TIME_TOOL.search(about):
        zone = _ZONE.search(said)
        required = set(schema.get("required") or ())
        strings = [k for k, p in props.items() if isinstance(p, dict) and p.get("type") == "string"]
        if zone is None and required & set(strings):
            return None
        return {k: zone.group() for k in strings[:1]} if zone else {}
    return None


def arithmetic_span(text: str) -> str | None:
    """The first arithmetic expression in a text, its parentheses balanced.

    Args:
        text: e.g. ``"What is 17 * 23 + 4?"``.

    Returns:
        e.g. ``"17 * 23 + 4"``, or None.
    """
    match = _ARITHMETIC.search(text)
    if match is None:
        return None
    span = match.group().strip()
    while span.endswith(")") and span.count(")") > span.count("("):
        span = span[:-1].rstrip()
    while span.startswith("(") and span.count("(") > span.count(")"):
        span = span[1:].lstrip()
    return span


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _system_text(messages: list[dict[str, Any]]) -> str:
    texts = [m.get("content") for m in messages if m.get("role") == "system"]
    return " ".join(t for t in texts if isinstance(t, str))


def _schema_in(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    found = None
    decoder = json.JSONDecoder()
    for message in messages:
        text = message.get("content")
        start = text.find("{") if isinstance(text, str) else -1
        while isinstance(text, str) and start >= 0:
            try:
                value, end = decoder.raw_decode(text, start)
            except ValueError:
                value, end = None, start + 1
            if isinstance(value, dict) and isinstance(value.get("properties"), dict):
                found = value
            start = text.find("{", end)
    return found


def fill(schema: dict[str, Any], said: str) -> Any:
    """A value for a JSON schema (``$ref`` resolved against it) from the user's words."""
    strings = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(said)]
    numbers = [float(n) for n in _NUMBER.findall(said)]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return node
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target.get(part, {})
        return target if isinstance(target, dict) else {}

    def make(node: dict[str, Any]) -> Any:
        node = resolve(node)
        options = node.get("anyOf") or node.get("oneOf") or node.get("allOf")
        if options:
            typed = [o for o in options if resolve(o).get("type") != "null"]
            return make(typed[0] if typed else options[0])
        if "enum" in node:
            return node["enum"][0]
        kind = node.get("type", "object" if "properties" in node else "string")
        kind = next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind
        if kind == "object":
            return {key: make(sub) for key, sub in (node.get("properties") or {}).items()}
        if kind == "array":
            return [make(node["items"])] if "items" in node else []
        if kind in ("integer", "number"):
            number = numbers.pop(0) if len(numbers) > 1 else (numbers or [1])[0]
            return int(number) if kind == "integer" else number
        return {"boolean": True, "null": None}.get(kind, strings[0] if strings else said or "ok")

    return make(schema)
