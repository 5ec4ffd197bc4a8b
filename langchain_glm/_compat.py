"""The `zhipuai` content-block translator, registered with langchain-core on import.

Registration goes through langchain-core's public `register_translator`; nothing
else in langchain-core is changed by importing this package.

langchain-core derives `message.content_blocks` (and `output_version="v1"`
content) from a translator chosen by `response_metadata["model_provider"]`
(https://reference.langchain.com/python/langchain-core/messages/block_translators).
Ours yields, in order: GLM web-search results as
`server_tool_call` / `server_tool_result` blocks (GLM searches before it
generates, and streams the results on the first frame), one `reasoning` block,
the text, a `refusal` block when GLM withheld the output (`finish_reason:
"sensitive"`), then tool calls.

Streamed blocks carry stable string indexes (`"lc_glm_reasoning"`,
`"lc_glm_text"`, `"lc_glm_tool_<i>"`, ...), so chunks of one block merge and a
tool call's GLM index can never collide with the text block's position.

Whitespace-only text in a *finished* message (GLM often sends a blank line as the
content of a tool-call turn, next to `tool_calls`; message shape:
https://docs.z.ai/api-reference/llm/chat-completion) is not a text block; it stays in
`message.content`, so nothing is lost.
"""

from __future__ import annotations

from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages import content as types
from langchain_core.messages.block_translators import register_translator

from langchain_glm._response import PROVIDER

_WEB_SEARCH = "web_search"
_WITHHELD = "GLM withheld the output for content safety (finish_reason='sensitive')."


def translate_content(message: AIMessage) -> list[types.ContentBlock]:
    """Standard content blocks of a complete GLM message.

    Args:
        message: A message produced by `ChatGLM`.

    Returns:
        Web-search, reasoning, text and tool-call blocks, in that order.
    """
    return _blocks(message, streaming=False, finished=True)


def translate_content_chunk(message: AIMessageChunk) -> list[types.ContentBlock]:
    """Standard content blocks of a streamed GLM chunk (or of an aggregate of chunks).

    Args:
        message: A chunk produced by `ChatGLM.stream`, or several added together.

    Returns:
        The chunk's blocks, each with a stable index.
    """
    finished = message.chunk_position == "last" or "finish_reason" in message.response_metadata
    return _blocks(message, streaming=message.chunk_position != "last", finished=finished)


def _blocks(message: AIMessage, *, streaming: bool, finished: bool) -> list[types.ContentBlock]:
    """Build the block list shared by both translators."""
    # GLM searches before it generates, and streams the results on the first frame:
    # search blocks come first, so invoke, stream and v1 content agree on the order.
    blocks = web_search_blocks(message.response_metadata.get(_WEB_SEARCH), streaming=streaming)
    reasoning = message.additional_kwargs.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        blocks.append(
            _indexed({"type": "reasoning", "reasoning": reasoning}, "reasoning", streaming)
        )
    blocks.extend(_content_blocks(message.content, streaming=streaming, finished=finished))
    if finished and message.response_metadata.get("finish_reason") == "sensitive":
        blocks.append(
            _block(type="refusal", refusal=_WITHHELD, extras={"finish_reason": "sensitive"})
        )
    if streaming and isinstance(message, AIMessageChunk):
        blocks.extend(_tool_call_chunk_blocks(message))
        return blocks
    blocks.extend(
        _block(type="tool_call", id=call["id"], name=call["name"], args=call["args"])
        for call in message.tool_calls
    )
    blocks.extend(
        _block(
            type="invalid_tool_call",
            id=bad["id"],
            name=bad["name"],
            args=bad["args"],
            error=bad["error"],
        )
        for bad in message.invalid_tool_calls
    )
    return blocks


def _tool_call_chunk_blocks(message: AIMessageChunk) -> list[types.ContentBlock]:
    """Streamed tool-call deltas, indexed so they never collide with other blocks."""
    blocks: list[types.ContentBlock] = []
    for chunk in message.tool_call_chunks:
        block = _block(
            type="tool_call_chunk", id=chunk["id"], name=chunk["name"], args=chunk["args"]
        )
        blocks.append(_indexed(block, f"tool_{chunk['index']}", streaming=True))
    return blocks


def _content_blocks(
    content: str | list[Any], *, streaming: bool, finished: bool
) -> list[types.ContentBlock]:
    """Text blocks from `content` (string, or a list that may already hold blocks)."""
    if isinstance(content, str):
        if not content or (finished and content.isspace()):
            return []
        return [_indexed({"type": "text", "text": content}, "text", streaming)]
    blocks: list[types.ContentBlock] = []
    for item in content:
        if isinstance(item, str):
            if item and not (finished and item.isspace()):
                blocks.append(_block(type="text", text=item))
        elif isinstance(item, dict) and item.get("type") in types.KNOWN_BLOCK_TYPES:
            blocks.append(cast("types.ContentBlock", item))
        else:
            blocks.append(_block(type="non_standard", value=item))
    return blocks


def web_search_blocks(results: Any, *, streaming: bool = False) -> list[types.ContentBlock]:
    """Turn GLM's `web_search` results into one server tool call and its result.

    Args:
        results: The response's `web_search` list (title, content, link, media, ...).
        streaming: Whether to give the blocks stable stream indexes.

    Returns:
        `[server_tool_call, server_tool_result]`, or `[]` when there are no results.
    """
    if not results:
        return []
    call_id = "web_search"
    call = _block(type="server_tool_call", id=call_id, name=_WEB_SEARCH, args={})
    result = _block(
        type="server_tool_result", tool_call_id=call_id, status="success", output=results
    )
    return [
        _indexed(call, "web_search_call", streaming),
        _indexed(result, "web_search_result", streaming),
    ]


def _block(**fields: Any) -> types.ContentBlock:
    """A content block from its fields (the core TypedDicts list optional keys as required)."""
    return cast("types.ContentBlock", fields)


def _indexed(block: Any, name: str, streaming: bool) -> types.ContentBlock:
    """Give a streamed block its stable string index."""
    if streaming:
        block["index"] = f"lc_glm_{name}"
    return cast("types.ContentBlock", block)


register_translator(PROVIDER, translate_content, translate_content_chunk)
