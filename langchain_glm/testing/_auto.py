"""`auto_reply`: a request-aware script that answers like a cooperative GLM model.

Use it with `GLMServer.script(auto_reply)` for notebooks, demos and agent tests that need
plausible answers without scripting each turn; it also drives LangChain's standard
integration tests offline.

What it does with a request, in order:

- last message is a tool result: answer in text, quoting the result;
- function tools are bound: call one tool (the one named by a `tool_choice` steering
  instruction, else one the user mentions, else the first), with arguments built from
  its JSON schema and the user's words (quoted strings, then numbers, in order);
- `response_format` is `json_object`: answer with a JSON object built from the schema
  described in the system instruction;
- otherwise: answer in text, cut at the `stop` word when one is given.

Every reply echoes the requested model (the server's default), carries reasoning
unless thinking is disabled, and reports usage including reasoning and cached tokens.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_glm._structured import SCHEMA_MARKER
from langchain_glm.testing import RecordedRequest, Reply

_QUOTED = re.compile("(?<!\\w)'([^']+)'(?!\\w)|\"([^\"]+)\"|\u201c([^\u201d]+)\u201d")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_NAMED_TOOL = re.compile(r"calling the tool `([^`]+)`")


def auto_reply(request: RecordedRequest) -> Reply:
    """Decide the reply to one chat-completions request.

    Args:
        request: The recorded request (validated by the server).

    Returns:
        The reply.
    """
    body: dict[str, Any] = request.json
    messages: list[dict[str, Any]] = body["messages"]
    said = _user_text(messages)
    reasoning = f"The user said: {said}. I will answer."
    usage = {"reasoning_tokens": len(reasoning) // 4, "cached_tokens": 2}
    if messages[-1].get("role") == "tool":
        text = f"The tool says: {messages[-1].get('content')}"
        return Reply(text=text, reasoning=reasoning, usage=usage)
    tools = [t["function"] for t in body.get("tools") or [] if t.get("type") == "function"]
    if tools:
        tool = _pick_tool(tools, messages, said)
        args = Synth(said).value(tool.get("parameters") or {})
        call = {"name": tool["name"], "arguments": args}
        return Reply(reasoning=reasoning, tool_calls=[call], usage=usage)
    if (body.get("response_format") or {}).get("type") == "json_object":
        obj = _json_answer(messages, said)
        return Reply(text=json.dumps(obj, ensure_ascii=False), reasoning=reasoning, usage=usage)
    text = f"Hi there! Here is my answer to you: {said}"
    stop = body.get("stop")
    word = stop[0] if isinstance(stop, list) and stop else stop
    if isinstance(word, str) and word and word in text:
        text = text[: text.index(word)]
    return Reply(text=text, reasoning=reasoning, usage=usage)


def _user_text(messages: list[dict[str, Any]]) -> str:
    """Text of the last user message."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def _system_text(messages: list[dict[str, Any]]) -> str:
    """All system instructions, joined."""
    return "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")


def _pick_tool(
    tools: list[dict[str, Any]], messages: list[dict[str, Any]], said: str
) -> dict[str, Any]:
    """The tool named by a steering instruction, else one the user names, else the first."""
    by_name = {t["name"]: t for t in tools}
    named = _NAMED_TOOL.search(_system_text(messages))
    if named and named.group(1) in by_name:
        return by_name[named.group(1)]
    mentioned = [t for t in tools if t["name"] in said]
    return mentioned[0] if mentioned else tools[0]


def _json_answer(messages: list[dict[str, Any]], said: str) -> dict[str, Any]:
    """A JSON object following the schema given in the JSON-mode instruction."""
    system = _system_text(messages)
    start = system.find(SCHEMA_MARKER)
    if start < 0:
        return {"answer": said}
    schema, _ = json.JSONDecoder().raw_decode(system, start + len(SCHEMA_MARKER))
    value = Synth(said).value(schema)
    return value if isinstance(value, dict) else {"answer": value}


class Synth:
    """Builds a value for a JSON schema from the words of a user message."""

    def __init__(self, said: str) -> None:
        quoted = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(said)]
        self._said = said or "ok"
        self._strings = quoted
        self._numbers = [float(n) for n in _NUMBER.findall(said)]
        self._root: dict[str, Any] = {}

    def value(self, schema: dict[str, Any]) -> Any:
        """A value for a whole schema (its `$defs` are resolved against it).

        Args:
            schema: JSON schema.

        Returns:
            The value.
        """
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
        return self._scalar(kind)

    def _scalar(self, kind: str) -> Any:
        if kind in ("integer", "number"):
            number = self._numbers.pop(0) if len(self._numbers) > 1 else (self._numbers or [1])[0]
            return int(number) if kind == "integer" else number
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self._strings[0] if self._strings else self._said

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        target: Any = self._root
        for part in ref[2:].split("/"):
            target = target.get(part, {})
        return target if isinstance(target, dict) else {}
