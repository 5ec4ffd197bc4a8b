"""Pure stream parser: decoded GLM SSE frames -> LangChain message chunks.

`StreamParser.feed(frame)` turns one frame into at most one `AIMessageChunk`;
`StreamParser.finish()` returns the chunks that close the stream. The parser holds
its own state, does no I/O and is shared by the sync and async paths. Frame shape:
https://docs.z.ai/api-reference/llm/chat-completion (streaming response).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.tool import ToolCallChunk
from langchain_core.utils.json import parse_partial_json

from langchain_glm._errors import inference_failed, malformed
from langchain_glm._response import (
    INFERENCE_FAILED,
    PROVIDER,
    call_fields,
    field,
    first_choice,
    response_metadata,
    usage_to_metadata,
)

_EXTRA_KEYS = ("web_search", "content_filter")
_DELTA = "choices[0].delta."
_NO_DELTA: Mapping[str, Any] = {}


class StreamParser:
    """Turns decoded GLM stream frames into `AIMessageChunk`s, one frame at a time.

    What it guarantees:

    - reasoning deltas go to `additional_kwargs["reasoning_content"]`, text to `content`;
      `""` fields are treated as absent;
    - whitespace-only `content` that GLM sends before its reasoning (or before tool
      calls) is held back and prepended to the first real text, so the aggregated
      message has one text block after the reasoning; if no text ever comes, it is
      returned on the closing chunk and nothing is lost;
    - tool-call deltas become `tool_call_chunks` keyed by GLM's `index`; a call's id
      and name are passed once, argument fragments (`tool_stream`) as they arrive;
    - `usage_metadata`, `finish_reason`, `model_name` and `id` appear exactly once, on
      the closing chunk (`chunk_position="last"`), even if GLM repeats them;
    - `web_search` / `content_filter` results appear once, on the chunk of the frame
      that first carried them;
    - a frame with a field of the wrong JSON type raises `GLMAPIError` ("GLM sent a
      malformed response: ..."); the chunks already returned stay valid;
    - a stream with no choice at all, or that GLM ends with `finish_reason:
      "network_error"` (inference failed), raises a retryable `GLMAPIError` from `finish`.

    Cut-off tool calls never reach `tool_calls`. langchain-core aggregates streamed
    calls itself: `AIMessageChunk.__add__` concatenates the `args` text of chunks with
    the same `index`, then `init_tool_calls` reads it with `parse_partial_json`, which
    *completes* truncated JSON, so `{"path": "/x", "recursive": tr` would become the
    valid call `{"path": "/x"}`. The parser therefore keeps each call's argument text;
    when the stream ends (any `finish_reason`, typically `"length"`) with text that is
    not complete JSON but that `parse_partial_json` would accept, `finish` first returns
    one more chunk whose tool-call chunk (same `index` and id, no name) appends the
    shortest text that closes any open string and then a mismatched bracket (e.g.
    `tr` + `]`). `parse_partial_json` rejects a mismatched bracket, so the aggregated
    message (`+`, `invoke` with `streaming=True`, v1 content) holds the call in
    `invalid_tool_calls`, its `args` being GLM's text plus those one to three
    characters. Empty arguments cut off by `"length"` are treated the same way.
    """

    __slots__ = (
        "_calls",
        "_extras_sent",
        "_finish",
        "_id",
        "_model",
        "_pending",
        "_seen_choice",
        "_text_started",
        "_usage",
    )

    def __init__(self, model: str | None = None) -> None:
        """Start a parser for one stream.

        Args:
            model: The requested model, reported when the server does not echo one.
        """
        self._text_started = False
        self._seen_choice = False
        self._pending = ""
        self._id: str | None = None
        self._model: str | None = model
        self._finish: str | None = None
        self._usage: Mapping[str, Any] | None = None
        self._extras_sent: set[str] = set()
        self._calls: list[list[Any]] = []
        """Per tool call: [its index, its id, the argument text received so far]."""

    def feed(self, frame: Mapping[str, Any]) -> AIMessageChunk | None:
        """Consume one decoded frame.

        Args:
            frame: A `data:` JSON object of the GLM stream.

        Returns:
            The chunk this frame contributes, or None when it carries nothing new.

        Raises:
            GLMAPIError: If a field has the wrong JSON type.
        """
        self._header(frame)
        metadata = self._new_extras(frame)
        delta = self._delta(frame) or _NO_DELTA
        if not (delta or metadata):
            return None
        text = self._text(field(delta, "content", str, _DELTA))
        reasoning = field(delta, "reasoning_content", str, _DELTA) or field(
            delta, "reasoning", str, _DELTA
        )
        raw_calls = field(delta, "tool_calls", list, _DELTA)
        calls = self._tool_call_chunks(raw_calls) if raw_calls else []
        if not (text or reasoning or calls or metadata):
            return None
        if not (calls or metadata):
            return text_chunk(text, reasoning, self._id)
        metadata["model_provider"] = PROVIDER
        return AIMessageChunk(
            content=text,
            additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
            tool_call_chunks=calls,
            response_metadata=metadata,
            id=self._id,
        )

    def finish(self) -> list[AIMessageChunk]:
        """Return the chunks that close the stream.

        Returns:
            The chunk that invalidates cut-off tool calls, if any (see the class
            docstring), then the closing chunk (`chunk_position="last"`) with held-back
            whitespace, usage and the final metadata.

        Raises:
            GLMAPIError: If no frame carried a choice, or GLM reported that inference failed.
        """
        if not self._seen_choice:
            raise malformed("the stream ended without any choice")
        if self._finish == INFERENCE_FAILED:
            raise inference_failed()
        content = "" if self._text_started else self._pending
        body = {"model": self._model, "id": self._id}
        last = AIMessageChunk(
            content=content,
            response_metadata=response_metadata(body, self._finish),
            usage_metadata=usage_to_metadata(self._usage) if self._usage else None,
            chunk_position="last",
            id=self._id,
        )
        cut = [
            ToolCallChunk(name=None, args=suffix, id=call_id, index=index, type="tool_call_chunk")
            for index, call_id, text in self._calls
            if (suffix := invalidating_suffix(text, self._finish))
        ]
        if not cut:
            return [last]
        meta = {"model_provider": PROVIDER}
        return [AIMessageChunk(content="", tool_call_chunks=cut, response_metadata=meta), last]

    def _header(self, frame: Mapping[str, Any]) -> None:
        """Remember the frame's id, model and usage (type-checked)."""
        frame_id = field(frame, "id", str)
        if not self._id:  # an empty id counts as absent, like every empty field
            self._id = frame_id or None
        model = field(frame, "model", str)
        if model:
            self._model = model
        usage = field(frame, "usage", dict)
        if usage:
            self._usage = usage

    def _delta(self, frame: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first choice's delta (type-checked); records its finish_reason."""
        choice = first_choice(frame)
        if choice is None:
            return None
        self._seen_choice = True
        finish = field(choice, "finish_reason", str, "choices[0].")
        if finish:
            self._finish = finish
        return field(choice, "delta", dict, "choices[0].")

    def _text(self, content: str | None) -> str:
        """Text to emit now, holding whitespace that precedes the first real text."""
        if not content:
            return ""
        if self._text_started:
            return content
        if content.isspace():
            self._pending += content
            return ""
        self._text_started = True
        text, self._pending = self._pending + content, ""
        return text

    def _new_extras(self, frame: Mapping[str, Any]) -> dict[str, Any]:
        """GLM extras (search results, content filter) not yet passed on."""
        extras: dict[str, Any] = {}
        for key in _EXTRA_KEYS:
            value = frame.get(key)
            if value and key not in self._extras_sent:
                self._extras_sent.add(key)
                extras[key] = value
        return extras

    def _tool_call_chunks(self, raw_calls: list[Any]) -> list[ToolCallChunk]:
        """Tool-call deltas keyed by GLM's `index` (built-in tool types are skipped)."""
        chunks: list[ToolCallChunk] = []
        for position, raw in enumerate(raw_calls):
            where = f"{_DELTA}tool_calls[{position}]."
            if not isinstance(raw, dict):
                raise malformed(f"{where[:-1]} is {type(raw).__name__}, expected an object")
            if (field(raw, "type", str, where) or "function") != "function":
                continue
            call_id, name, args = call_fields(raw, where)
            index = field(raw, "index", int, where)
            index = position if index is None else index
            self._track(index, call_id, args)
            chunks.append(
                ToolCallChunk(
                    name=name or None,
                    args=args or None,
                    id=call_id or None,
                    index=index,
                    type="tool_call_chunk",
                )
            )
        return chunks

    def _track(self, index: int, call_id: str | None, args: str) -> None:
        """Accumulate a call's argument text, joining calls as `AIMessageChunk.__add__` does.

        A delta joins the first call with its `index` whose id does not contradict its
        own; a different id at a known index starts a new call.
        """
        for entry in self._calls:
            if entry[0] == index and (not entry[1] or not call_id or entry[1] == call_id):
                entry[1] = entry[1] or call_id or None
                entry[2] += args
                return
        self._calls.append([index, call_id or None, args])


def invalidating_suffix(text: str, finish_reason: str | None) -> str:
    """What to append to streamed tool arguments so that langchain-core rejects them.

    Args:
        text: A call's complete streamed argument text.
        finish_reason: How the stream ended.

    Returns:
        `""` when the arguments are complete JSON (or already unreadable), else the
        characters that close an open string plus a mismatched bracket.
    """
    if not text:
        return "}" if finish_reason == "length" else ""
    try:
        json.loads(text, strict=False)
    except ValueError:
        pass
    else:
        return ""  # complete; langchain-core itself rejects a non-object
    try:
        accepted = isinstance(parse_partial_json(text), dict)
    except ValueError:
        accepted = False
    if not accepted:
        return ""
    in_string, escaped, opened = _scan(text)
    closer = "]" if opened == "{" else "}"
    if in_string:
        return ('\\"' if escaped else '"') + closer
    return closer


def _scan(text: str) -> tuple[bool, bool, str]:
    """Scan JSON text as `parse_partial_json` does.

    Returns:
        Whether it ends inside a string, right after a backslash there, and the last
        bracket still open ("" when none).
    """
    in_string = escaped = False
    stack: list[str] = []
    for char in text:
        if in_string:
            if char == '"' and not escaped:
                in_string = False
            elif char == "\\":
                escaped = not escaped
            else:
                escaped = False
        elif char == '"':
            in_string, escaped = True, False
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
    return in_string, escaped, stack[-1] if stack else ""


# ---------------------------------------------------------------- chunk construction
#
# Every chunk is validated by pydantic and gets containers of its own: LangGraph reducers,
# callback handlers and user code mutate messages, so nothing mutable may be shared between
# two chunks (tests/unit_tests/test_isolation.py). Validation (pydantic-core) measured
# faster per streamed chunk than `model_construct`, whose field loop runs in Python
# (tests/bench/README.md). `ChatGLM._stream` wraps each in a `ChatGenerationChunk`.


def text_chunk(content: str, reasoning: str | None, chunk_id: str | None) -> AIMessageChunk:
    """An `AIMessageChunk` with text and/or reasoning.

    Args:
        content: The text ("" for none).
        reasoning: The reasoning delta, if any.
        chunk_id: GLM's response id.

    Returns:
        The chunk.
    """
    return AIMessageChunk(
        content=content,
        additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
        response_metadata={"model_provider": PROVIDER},
        id=chunk_id,
    )
