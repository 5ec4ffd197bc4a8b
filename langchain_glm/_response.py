"""Pure response conversion: a GLM chat-completions body -> LangChain messages.

A non-streaming response body becomes a `ChatResult`, GLM `usage` becomes `UsageMetadata`,
GLM tool calls become LangChain tool calls (arguments that are not a JSON object become
invalid tool calls). Response shape: https://docs.z.ai/api-reference/llm/chat-completion .
Nothing here does I/O or keeps state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, cast

from langchain_core.messages import AIMessage, InvalidToolCall, ToolCall
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import invalid_tool_call as create_invalid_tool_call
from langchain_core.messages.tool import tool_call as create_tool_call
from langchain_core.outputs import ChatGeneration, ChatResult

PROVIDER = "zhipuai"
"""Value of `response_metadata["model_provider"]` on every message we produce."""


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
