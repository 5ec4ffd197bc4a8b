"""Pure request building: LangChain messages, tools and options -> the GLM request body.

GLM accepts a narrower request than OpenAI-style clients send
(https://docs.z.ai/api-reference/llm/chat-completion): one stop word on older models,
`tool_choice="auto"` only, `thinking` as an object, `function.arguments` as a JSON string.
Everything here turns LangChain-level messages and parameters into a body GLM takes, or
fails with a clear error before any request is sent. Also builds the token-counting request.
Nothing here does I/O or keeps state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

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
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_glm._response import PROVIDER

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


class GLMCompatibilityWarning(UserWarning):
    """A request was adapted to what GLM accepts (e.g. a forced `tool_choice` sent as "auto")."""


_BUILTIN_TOOL_TYPES = {"web_search", "retrieval", "mcp"}
_FORCING_CHOICES = {"any", "required"}
_CHOICE_KEYWORDS = {"auto", "none", *_FORCING_CHOICES}


def normalize_stop(stop: str | Sequence[str] | None) -> list[str] | None:
    """GLM takes at most one stop word (glm-api §3.1); empty lists are dropped.

    Args:
        stop: A stop word, a list of them, or None.

    Returns:
        A one-item list, or None when there is no stop word.

    Raises:
        ValueError: More than one stop word.
    """
    if stop is None:
        return None
    words = [stop] if isinstance(stop, str) else [w for w in stop if w]
    if not words:
        return None
    if len(words) > 1:
        msg = f"GLM accepts a single stop sequence, got {len(words)}: {words!r}. Pass one."
        raise ValueError(msg)
    return words


def check_range(name: str, value: float | None, low: float, high: float) -> None:
    """Reject a sampling value GLM would refuse, before any request is sent.

    Args:
        name: Parameter name, for the message.
        value: The value (None = not set).
        low: Smallest allowed value.
        high: Largest allowed value.

    Raises:
        ValueError: The value lies outside `[low, high]`.
    """
    if value is not None and not low <= value <= high:
        msg = f"{name}={value!r} is outside GLM's range [{low}, {high}]."
        raise ValueError(msg)


def thinking_param(thinking: bool | None, clear_thinking: bool | None) -> dict[str, Any] | None:
    """GLM `thinking` object (glm-api §3.3); None leaves the server default.

    Args:
        thinking: Enable (True) or disable (False) thinking; None = server default.
        clear_thinking: False keeps earlier turns' reasoning (preserved thinking).

    Returns:
        The object to send, or None.
    """
    if thinking is None and clear_thinking is None:
        return None
    param: dict[str, Any] = {"type": "disabled" if thinking is False else "enabled"}
    if clear_thinking is not None:
        param["clear_thinking"] = clear_thinking
    return param


def forced_tool_name(tool_choice: Any, tools: Sequence[Mapping[str, Any]]) -> str | None:
    """What a forcing `tool_choice` asks for, in words; None when it forces nothing.

    GLM only accepts `tool_choice="auto"` (glm-api §3.1), so forcing is done by
    instruction instead (see `steer_to_tools`).

    Args:
        tool_choice: Any value LangChain accepts (`"any"`, `"required"`, `True`, a
            tool name, an OpenAI-style dict, `"auto"`, `"none"`, None).
        tools: The GLM tools of the request.

    Returns:
        `"*"` when any tool must be called, a tool name when that one must be, else None.
    """
    tool_choice = choice_keyword(tool_choice)
    if isinstance(tool_choice, dict):
        function = tool_choice.get("function") or {}
        return str(function.get("name") or tool_choice.get("name") or "*")
    if tool_choice in (None, False, "auto", "none"):
        return None
    if tool_choice is True or tool_choice in _FORCING_CHOICES:
        names = [t["function"]["name"] for t in tools if t.get("type") == "function"]
        return names[0] if len(names) == 1 else "*"
    return str(tool_choice)


def choice_keyword(tool_choice: Any) -> Any:
    """Reduce dict forms that only name a mode (`{"type": "any"}`, Anthropic style) to it.

    Args:
        tool_choice: Any `tool_choice` value.

    Returns:
        `"auto"`, `"none"`, `"any"` or `"required"` for such dicts; otherwise the value.
    """
    if isinstance(tool_choice, dict) and tool_choice.get("type") in _CHOICE_KEYWORDS:
        return tool_choice["type"]
    return tool_choice


def steer_to_tools(messages: list[dict[str, Any]], forced: str) -> list[dict[str, Any]]:
    """Add a system instruction that makes the model call the required tool.

    Args:
        messages: GLM messages (not modified).
        forced: A tool name, or `"*"` for "any tool".

    Returns:
        The messages with the instruction appended to the first system message
        (or a new leading system message).
    """
    if forced == "*":
        rule = "You must respond by calling one of the provided tools; do not answer in plain text."
    else:
        rule = f"You must respond by calling the tool `{forced}`; do not answer in plain text."
    out = list(messages)
    if out and out[0].get("role") == "system" and isinstance(out[0].get("content"), str):
        out[0] = {**out[0], "content": f"{out[0]['content']}\n\n{rule}"}
    else:
        out.insert(0, {"role": "system", "content": rule})
    return out


def build_payload(messages: Sequence[BaseMessage], params: Mapping[str, Any]) -> dict[str, Any]:
    """Assemble the request body from messages and resolved call parameters.

    Args:
        messages: The conversation.
        params: Resolved parameters: `model`, `stream`, `thinking`, `clear_thinking`,
            `temperature`, `top_p`, `max_tokens`, `do_sample`, `stop`, `tool_stream`,
            and `extra` (other body fields such as `tools`, `tool_choice`,
            `response_format`, `model_kwargs` entries).

    Returns:
        The JSON body for `POST /chat/completions`.

    Raises:
        ValueError: Bad input (too many stop words, out-of-range sampling values,
            an unsupported message), detected before any request is sent.
    """
    check_range("temperature", params.get("temperature"), 0.0, 1.0)
    check_range("top_p", params.get("top_p"), 0.0, 1.0)
    if params.get("max_tokens") is not None and params["max_tokens"] < 1:
        msg = f"max_tokens={params['max_tokens']!r} must be at least 1."
        raise ValueError(msg)
    body: dict[str, Any] = {"model": params["model"], "messages": messages_to_glm(messages)}
    for key in ("temperature", "top_p", "max_tokens", "do_sample"):
        if params.get(key) is not None:
            body[key] = params[key]
    stop = normalize_stop(params.get("stop"))
    if stop:
        body["stop"] = stop
    thinking = thinking_param(params.get("thinking"), params.get("clear_thinking"))
    if thinking:
        body["thinking"] = thinking
    body.update(params.get("extra") or {})
    _apply_tool_choice(body)
    body["stream"] = bool(params.get("stream"))
    if body["stream"] and params.get("tool_stream") and body.get("tools"):
        body["tool_stream"] = True
    return body


def _apply_tool_choice(body: dict[str, Any]) -> None:
    """Make `tool_choice` something GLM accepts, steering by instruction when forced."""
    choice = body.pop("tool_choice", None)
    tools = body.get("tools")
    if not tools:
        return
    if choice_keyword(choice) == "none":
        del body["tools"]
        return
    forced = forced_tool_name(choice, tools)
    if forced is not None:
        body["messages"] = steer_to_tools(body["messages"], forced)
    body["tool_choice"] = "auto"


def tool_to_glm(tool: Any) -> dict[str, Any]:
    """Convert anything LangChain accepts as a tool to a GLM tool object.

    GLM built-in tools (`{"type": "web_search" | "retrieval" | "mcp", ...}`) pass
    through unchanged; everything else goes through LangChain's OpenAI-format
    conversion (BaseTool, functions, pydantic classes, TypedDicts, JSON schema).

    Args:
        tool: The tool.

    Returns:
        The GLM tool dict.
    """
    if isinstance(tool, dict) and tool.get("type") in _BUILTIN_TOOL_TYPES:
        return dict(tool)
    return convert_to_openai_tool(tool)


def tokenizer_payload(
    model: str, messages: Sequence[BaseMessage], tools: Sequence[Any] | None = None
) -> dict[str, Any]:
    """Body of GLM's token-counting request (`POST {base}/tokenizer`, glm-api §1).

    Args:
        model: The model whose tokenizer counts.
        messages: The messages to count.
        tools: Tools that would be sent with them, if any.

    Returns:
        `{"model", "messages", "tools"?}`.
    """
    body: dict[str, Any] = {"model": model, "messages": messages_to_glm(messages)}
    if tools:
        body["tools"] = [tool_to_glm(tool) for tool in tools]
    return body


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """Read the token count from a tokenizer response.

    Args:
        body: The tokenizer response (`{"usage": {"prompt_tokens", ...}}`).

    Returns:
        The prompt token count.

    Raises:
        ValueError: The response carries no count.
    """
    usage = body.get("usage") or {}
    count = usage.get("prompt_tokens", usage.get("total_tokens"))
    if not isinstance(count, int):
        msg = f"GLM's tokenizer response has no token count: {body!r}"
        raise ValueError(msg)
    return count
