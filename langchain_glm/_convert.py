"""Pure conversion between LangChain objects and GLM chat-completions JSON.

Nothing here does I/O or keeps state. Outbound: messages -> GLM message dicts
(tool calls with JSON-string arguments, `reasoning_content` sent back on assistant
turns). Inbound: a non-streaming response body -> `ChatResult`, GLM `usage` ->
`UsageMetadata`, GLM tool calls -> LangChain tool calls. Facts cited from
`glm-api.md` §3.2 (message shapes), §4 (response) and §8.1 (quirks).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import invalid_tool_call as create_invalid_tool_call
from langchain_core.messages.tool import tool_call as create_tool_call
from langchain_core.outputs import ChatGeneration, ChatResult

PROVIDER = "zhipuai"
"""Value of `response_metadata["model_provider"]` on every message we produce."""

_ROLES = {"system", "user", "assistant", "tool"}
_SKIPPED_BLOCKS = {
    "reasoning",
    "thinking",
    "tool_call",
    "tool_use",
    "tool_call_chunk",
    "invalid_tool_call",
    "server_tool_call",
    "server_tool_call_chunk",
    "server_tool_result",
    "refusal",
}
"""Assistant blocks that travel elsewhere (reasoning, tool calls) or are GLM's own output
(search results, refusals): never sent back as text."""


class MessageConversionError(ValueError):
    """A message or content block that GLM cannot take (raised before any request)."""


# --------------------------------------------------------------------------- outbound


def messages_to_glm(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Convert LangChain messages to GLM `messages`.

    Args:
        messages: The conversation, oldest first.

    Returns:
        GLM message dicts, ready for the request body.

    Raises:
        MessageConversionError: A message type or content block GLM cannot take,
            or an empty conversation.
    """
    if not messages:
        msg = "GLM needs at least one message; got an empty list."
        raise MessageConversionError(msg)
    return [message_to_glm(m, position=i) for i, m in enumerate(messages)]


def message_to_glm(message: BaseMessage, *, position: int = 0) -> dict[str, Any]:
    """Convert one LangChain message to a GLM message dict.

    Args:
        message: The message.
        position: Its index in the conversation, used in error messages.

    Returns:
        The GLM message dict.

    Raises:
        MessageConversionError: The message type or one of its blocks is unsupported.
    """
    if isinstance(message, AIMessage):
        return _assistant_to_glm(message, position)
    if isinstance(message, ToolMessage):
        content = _text_only(message.content, position, "tool")
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": content}
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": _text_only(message.content, position, "system")}
    if isinstance(message, HumanMessage):
        return {"role": "user", "content": _user_content(message.content, position)}
    if isinstance(message, ChatMessage) and message.role in _ROLES:
        role = "user" if message.role == "user" else message.role
        return {"role": role, "content": _text_only(message.content, position, role)}
    msg = (
        f"messages[{position}]: GLM cannot take a {type(message).__name__}"
        f"{f' with role {message.role!r}' if isinstance(message, ChatMessage) else ''}; "
        "use SystemMessage, HumanMessage, AIMessage or ToolMessage."
    )
    raise MessageConversionError(msg)


def _assistant_to_glm(message: AIMessage, position: int) -> dict[str, Any]:
    """Build an assistant dict: text, tool calls and (our own) reasoning sent back."""
    out: dict[str, Any] = {"role": "assistant"}
    text = _assistant_text(message.content, position)
    calls = [_tool_call_to_glm(tc) for tc in message.tool_calls]
    calls += [_invalid_tool_call_to_glm(tc) for tc in message.invalid_tool_calls]
    if text or not calls:
        out["content"] = text
    if calls:
        out["tool_calls"] = calls
    reasoning = reasoning_of(message)
    if reasoning:
        out["reasoning_content"] = reasoning
    return out


def reasoning_of(message: AIMessage) -> str | None:
    """Return the reasoning text to send back on an assistant turn.

    Taken from `additional_kwargs["reasoning_content"]`, else from v1 `reasoning`
    blocks in list content. Messages produced by another provider (a different
    `model_provider`) keep their reasoning to themselves: GLM's preserved thinking
    needs its own reasoning, unmodified.

    Args:
        message: An assistant message.

    Returns:
        The reasoning text, or None when there is none to send.
    """
    provider = message.response_metadata.get("model_provider")
    if provider not in (None, PROVIDER):
        return None
    value = message.additional_kwargs.get("reasoning_content")
    if isinstance(value, str) and value:
        return value
    if isinstance(message.content, list):
        parts = [
            b.get("reasoning", "")
            for b in message.content
            if isinstance(b, dict) and b.get("type") == "reasoning"
        ]
        joined = "".join(p for p in parts if isinstance(p, str))
        return joined or None
    return None


def _tool_call_to_glm(tool_call: ToolCall) -> dict[str, Any]:
    """GLM wants `function.arguments` as a JSON string (glm-api §3.2)."""
    return {
        "id": tool_call.get("id") or "",
        "type": "function",
        "function": {
            "name": tool_call["name"],
            "arguments": json.dumps(tool_call["args"], ensure_ascii=False),
        },
    }


def _invalid_tool_call_to_glm(tool_call: InvalidToolCall) -> dict[str, Any]:
    """Send an unparsable call back as it came, so its tool result still matches."""
    return {
        "id": tool_call.get("id") or "",
        "type": "function",
        "function": {"name": tool_call.get("name") or "", "arguments": tool_call.get("args") or ""},
    }


def _block_text(block: Any) -> str | None:
    """Text of a string or a text block; None when the block is not text."""
    if isinstance(block, str):
        return block
    if isinstance(block, dict) and block.get("type") == "text":
        text = block.get("text")
        return text if isinstance(text, str) else ""
    return None


def _join_text(parts: Iterable[str]) -> str:
    """Join text parts, never sending empty ones (GLM rejects empty text parts)."""
    return "\n".join(p for p in parts if p)


def _text_only(content: str | list[Any], position: int, role: str) -> str:
    """Flatten content that may hold only text (system, tool and plain user turns)."""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for i, block in enumerate(content):
        text = _block_text(block)
        if text is None:
            raise _unsupported_block(block, position, i, role)
        texts.append(text)
    return _join_text(texts)


def _assistant_text(content: str | list[Any], position: int) -> str:
    """Text of an assistant turn; reasoning and tool-call blocks travel elsewhere."""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for i, block in enumerate(content):
        text = _block_text(block)
        if text is not None:
            texts.append(text)
        elif not (isinstance(block, dict) and block.get("type") in _SKIPPED_BLOCKS):
            raise _unsupported_block(block, position, i, "assistant")
    return _join_text(texts)


def _user_content(content: str | list[Any], position: int) -> str | list[dict[str, Any]]:
    """User content: a string, or text + image/video/file parts for GLM vision models."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for i, block in enumerate(content):
        text = _block_text(block)
        if text is not None:
            if text:
                parts.append({"type": "text", "text": text})
            continue
        media = _media_part(block)
        if media is None:
            raise _unsupported_block(block, position, i, "user")
        parts.append(media)
    if all(p["type"] == "text" for p in parts):
        return _join_text(p["text"] for p in parts)
    return parts


_MEDIA = {"image": "image_url", "video": "video_url", "file": "file_url"}
"""Standard block type -> GLM vision part type (glm-api §3.2)."""


def _media_part(block: Any) -> dict[str, Any] | None:
    """GLM `image_url` / `video_url` / `file_url` part for vision models (GLM-4.6V, 4.5V).

    Accepts OpenAI-style parts (`{"type": "image_url", "image_url": {"url": ...}}`, and the
    same for `video_url` / `file_url`) and standard v1 blocks (`image` with `url` or
    `base64`; `video` and `file` with `url`). Inline images are sent as bare base64.
    """
    if not isinstance(block, dict):
        return None
    kind = str(block.get("type"))
    if kind in _MEDIA.values():
        inner = block.get(kind)
        url = inner.get("url") if isinstance(inner, dict) else inner
    elif kind in _MEDIA:
        url = block.get("url")
        if not url and kind == "image":
            url = block.get("base64") or block.get("data")
        kind = _MEDIA[kind]
    else:
        return None
    if not isinstance(url, str) or not url:
        return None
    return {"type": kind, kind: {"url": _strip_data_prefix(url)}}


def _strip_data_prefix(url: str) -> str:
    """GLM takes bare base64 for inline images, as Zhipu's own SDK sends it."""
    if url.startswith("data:") and ";base64," in url:
        return url.split(";base64,", 1)[1]
    return url


def _unsupported_block(block: Any, position: int, index: int, role: str) -> MessageConversionError:
    kind = block.get("type") if isinstance(block, dict) else type(block).__name__
    msg = (
        f"messages[{position}].content[{index}]: GLM cannot take a {kind!r} block in a "
        f"{role} message. Text is accepted everywhere; images, videos and files (by URL) "
        "only in user messages to vision models (glm-4.6v, glm-4.5v)."
    )
    return MessageConversionError(msg)


# --------------------------------------------------------------------------- inbound


def usage_to_metadata(usage: Mapping[str, Any]) -> UsageMetadata:
    """Map GLM `usage` to LangChain `UsageMetadata` (glm-api §4.3).

    Args:
        usage: GLM usage object.

    Returns:
        Totals, plus `cache_read` and `reasoning` details when GLM reports them.
    """
    input_tokens = int(usage.get("prompt_tokens") or 0)
    output_tokens = int(usage.get("completion_tokens") or 0)
    total = usage.get("total_tokens")
    result = cast(
        "UsageMetadata",
        {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": int(total) if total is not None else input_tokens + output_tokens,
        },
    )
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    if cached is not None:
        input_details: InputTokenDetails = {"cache_read": int(cached)}
        result["input_token_details"] = input_details
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if reasoning is not None:
        output_details: OutputTokenDetails = {"reasoning": int(reasoning)}
        result["output_token_details"] = output_details
    return result


def parse_tool_calls(
    raw_calls: Iterable[Mapping[str, Any]],
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """Parse GLM tool calls; arguments that are not a JSON object become invalid calls.

    Args:
        raw_calls: GLM `tool_calls` entries (function type).

    Returns:
        The parsed calls and the invalid ones; never raises on bad arguments.
    """
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for raw in raw_calls:
        function = raw.get("function") or {}
        name = function.get("name") or ""
        args = function.get("arguments")
        call_id = raw.get("id")
        parsed, error = _parse_arguments(args)
        if parsed is not None:
            calls.append(create_tool_call(name=name, args=parsed, id=call_id))
        else:
            invalid.append(
                create_invalid_tool_call(
                    name=name, args=arguments_text(args), id=call_id, error=error
                )
            )
    return calls, invalid


def _parse_arguments(args: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Parse tool arguments: (object, None) on success, (None, reason) otherwise."""
    if isinstance(args, dict):
        return args, None
    try:
        parsed = json.loads(args or "{}")
    except (TypeError, ValueError) as err:
        return None, f"arguments are not valid JSON: {err}"
    if not isinstance(parsed, dict):
        return None, "arguments are not a JSON object"
    return parsed, None


def arguments_text(args: Any) -> str:
    """Tool arguments as text: GLM sends a JSON string, but may send an object (quirk 1)."""
    if args is None:
        return ""
    if isinstance(args, str):
        return args
    return json.dumps(args, ensure_ascii=False)


def response_metadata(body: Mapping[str, Any], choice: Mapping[str, Any]) -> dict[str, Any]:
    """Response metadata of a finished reply (non-stream body or final stream state).

    Args:
        body: The response body (or the accumulated stream fields).
        choice: Its first choice.

    Returns:
        `model_name`, `finish_reason`, `id`, `model_provider`, and GLM's
        `web_search` / `content_filter` when present.
    """
    meta: dict[str, Any] = {"model_provider": PROVIDER}
    if body.get("model"):
        meta["model_name"] = body["model"]
    if choice.get("finish_reason"):
        meta["finish_reason"] = choice["finish_reason"]
    if body.get("id"):
        meta["id"] = body["id"]
    for key in ("request_id", "web_search", "content_filter"):
        if body.get(key):
            meta[key] = body[key]
    return meta


def chat_result(body: Mapping[str, Any], *, model: str | None = None) -> ChatResult:
    """Convert a non-streaming GLM response body to a `ChatResult`.

    Args:
        body: The parsed JSON response.
        model: The requested model, reported when the server does not echo one.

    Returns:
        One generation holding the `AIMessage`.
    """
    if model and not body.get("model"):
        body = {**body, "model": model}
    choice = (body.get("choices") or [{}])[0]
    raw = choice.get("message") or {}
    function_calls = [
        c for c in raw.get("tool_calls") or [] if c.get("type", "function") == "function"
    ]
    calls, invalid = parse_tool_calls(function_calls)
    additional: dict[str, Any] = {}
    reasoning = raw.get("reasoning_content") or raw.get("reasoning")
    if reasoning:
        additional["reasoning_content"] = reasoning
    usage = body.get("usage")
    message = AIMessage(
        content=raw.get("content") or "",
        additional_kwargs=additional,
        tool_calls=calls,
        invalid_tool_calls=invalid,
        response_metadata=response_metadata(body, choice),
        usage_metadata=usage_to_metadata(usage) if usage else None,
        id=body.get("id"),
    )
    llm_output = {"model_name": body.get("model"), "token_usage": usage}
    return ChatResult(generations=[ChatGeneration(message=message)], llm_output=llm_output)
