"""Pure stream parser: decoded GLM SSE frames -> LangChain message chunks.

`StreamParser.feed(frame)` turns one frame into at most one `AIMessageChunk`;
`StreamParser.finish()` returns the closing chunk. The parser holds its own
state, does no I/O and is shared by the sync and async paths.

What it guarantees (glm-api §5, §8.1; langchain-contract §2.4):

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
  that first carried them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessageChunk
from langchain_core.messages.tool import ToolCallChunk

from langchain_glm._response import PROVIDER, arguments_text, response_metadata, usage_to_metadata

_EXTRA_KEYS = ("web_search", "content_filter")


class StreamParser:
    """Turns decoded GLM stream frames into `AIMessageChunk`s, one frame at a time."""

    __slots__ = ("_extras_sent", "_finish", "_id", "_model", "_pending", "_text_started", "_usage")

    def __init__(self, model: str | None = None) -> None:
        """Start a parser for one stream.

        Args:
            model: The requested model, reported when the server does not echo one.
        """
        self._text_started = False
        self._pending = ""
        self._id: str | None = None
        self._model: str | None = model
        self._finish: str | None = None
        self._usage: Mapping[str, Any] | None = None
        self._extras_sent: set[str] = set()

    def feed(self, frame: Mapping[str, Any]) -> AIMessageChunk | None:
        """Consume one decoded frame.

        Args:
            frame: A `data:` JSON object of the GLM stream.

        Returns:
            The chunk this frame contributes, or None when it carries nothing new.
        """
        if self._id is None:
            self._id = frame.get("id")
        if frame.get("model"):
            self._model = frame["model"]
        if frame.get("usage"):
            self._usage = frame["usage"]
        metadata = self._new_extras(frame)
        choices = frame.get("choices")
        delta: Mapping[str, Any] = {}
        if choices:
            choice = choices[0]
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
            delta = choice.get("delta") or {}
        text = self._text(delta.get("content"))
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        raw_calls = delta.get("tool_calls")
        if not (text or reasoning or raw_calls or metadata):
            return None
        metadata["model_provider"] = PROVIDER
        return AIMessageChunk(
            content=text,
            additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
            tool_call_chunks=_tool_call_chunks(raw_calls) if raw_calls else [],
            response_metadata=metadata,
            id=self._id,
        )

    def finish(self) -> AIMessageChunk:
        """Return the closing chunk: held-back whitespace, usage and final metadata.

        Returns:
            The chunk with `chunk_position="last"`.
        """
        content = "" if self._text_started else self._pending
        body = {"model": self._model, "id": self._id}
        return AIMessageChunk(
            content=content,
            response_metadata=response_metadata(body, {"finish_reason": self._finish}),
            usage_metadata=usage_to_metadata(self._usage) if self._usage else None,
            chunk_position="last",
            id=self._id,
        )

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


def _tool_call_chunks(raw_calls: list[Mapping[str, Any]]) -> list[ToolCallChunk]:
    """Tool-call deltas keyed by GLM's `index` (built-in tool types are skipped)."""
    chunks: list[ToolCallChunk] = []
    for position, raw in enumerate(raw_calls):
        if raw.get("type", "function") != "function":
            continue
        function = raw.get("function") or {}
        index = raw.get("index")
        chunks.append(
            ToolCallChunk(
                name=function.get("name") or None,
                args=arguments_text(function.get("arguments")) or None,
                id=raw.get("id") or None,
                index=index if isinstance(index, int) else position,
                type="tool_call_chunk",
            )
        )
    return chunks
