"""`auto_reply`: a script answering like a cooperative GLM model, from the request JSON alone."""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_glm.testing._base import RecordedRequest, Reply
from langchain_glm.testing._chat import last_user_text, reasoning_for

_QUOTED = re.compile("(?<!\\w)'([^']+)'(?!\\w)|\"([^\"]+)\"|\u201c([^\u201d]+)\u201d")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def auto_reply(request: RecordedRequest) -> Reply:
    """Decide the reply to one chat-completions request from its JSON body alone.

    ``server.script(auto_reply)`` (or ``python -m langchain_glm.testing --auto``) gives notebooks,
    demos and agent tests plausible answers, never reading the client's own prompt wording:
    after a tool result, text quoting it; with function tools bound, a call to the first the user
    names (else the first), arguments built from its JSON schema and the user's words (quoted
    strings, numbers); ``response_format`` ``json_object``: an object filling the last JSON
    schema in the messages, else ``{"answer": <user text>}``; otherwise text, cut at the ``stop``
    word. Reasoning follows ``reasoning_effort``.
    """
    body: dict[str, Any] = request.json
    messages: list[dict[str, Any]] = body["messages"]
    said = last_user_text(body)
    reasoning = reasoning_for(body, said)
    usage = {"reasoning_tokens": len(reasoning) // 4, "cached_tokens": 2}
    if messages[-1].get("role") == "tool":
        text = f"The tool says: {messages[-1].get('content')}"
        return Reply(text=text, reasoning=reasoning, usage=usage)
    tools = [t["function"] for t in body.get("tools") or [] if t.get("type") == "function"]
    if tools:
        tool = next((t for t in tools if t["name"] in said), tools[0])
        call = {"name": tool["name"], "arguments": fill(tool.get("parameters") or {}, said)}
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
