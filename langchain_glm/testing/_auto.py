"""`auto_reply`: a script answering like a cooperative GLM model, from the request JSON alone."""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_glm.testing._service import RecordedRequest, Reply, last_user_text, reasoning_for

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
        call = {"name": tool["name"], "arguments": Synth(said).value(tool.get("parameters") or {})}
        return Reply(reasoning=reasoning, tool_calls=[call], usage=usage)
    if (body.get("response_format") or {}).get("type") == "json_object":
        schema = _schema_in(messages)
        value = Synth(said).value(schema) if schema else None
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


class Synth:
    """Builds a value for a JSON schema from the words of a user message."""

    def __init__(self, said: str) -> None:
        self._said = said or "ok"
        self._strings = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(said)]
        self._numbers = [float(n) for n in _NUMBER.findall(said)]
        self._root: dict[str, Any] = {}

    def value(self, schema: dict[str, Any]) -> Any:
        """A value for a whole JSON schema (its ``$defs`` are resolved against it)."""
        self._root = schema
        return self._make(schema)

    def _make(self, schema: dict[str, Any]) -> Any:
        schema = self._resolve(schema)
        options = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
        if options:
            typed = [o for o in options if self._resolve(o).get("type") != "null"]
            return self._make(typed[0] if typed else options[0])
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type", "object" if "properties" in schema else "string")
        kind = next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind
        if kind == "object":
            properties = schema.get("properties") or {}
            return {key: self._make(sub) for key, sub in properties.items()}
        if kind == "array":
            return [self._make(schema["items"])] if "items" in schema else []
        if kind in ("integer", "number"):
            number = self._numbers.pop(0) if len(self._numbers) > 1 else (self._numbers or [1])[0]
            return int(number) if kind == "integer" else number
        text = self._strings[0] if self._strings else self._said
        return {"boolean": True, "null": None}.get(kind, text)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        target: Any = self._root
        for part in ref[2:].split("/"):
            target = target.get(part, {})
        return target if isinstance(target, dict) else {}
