"""Pure request-body building: sampling checks, thinking, stop, tools and `tool_choice`.

GLM accepts a narrower request than OpenAI-style clients send (glm-api §3.1): one stop
word, `tool_choice="auto"` only, `thinking` as an object. Everything here turns
LangChain-level parameters into a body GLM takes, or fails with a clear error before
any request is sent. Also builds the token-counting request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_glm._convert import messages_to_glm


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
