"""Pure response conversion: a GLM chat-completions body -> LangChain messages.

A non-streaming response body becomes a `ChatResult`, GLM `usage` becomes `UsageMetadata`,
GLM tool calls become LangChain tool calls (arguments that are not a JSON object become
invalid tool calls). Response shape: https://docs.z.ai/api-reference/llm/chat-completion .
Nothing here does I/O or keeps state.

Every field is read through `field`, which checks its JSON type: a body or frame with a
wrong-typed field (`choices: [null]`, `content: 5`, `usage: "x"`, ...) raises
`GLMAPIError("GLM sent a malformed response: ...")`, never `AttributeError`/`TypeError`.
Unknown extra fields are ignored; a missing optional field is absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, InvalidToolCall, ToolCall
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import invalid_tool_call as create_invalid_tool_call
from langchain_core.messages.tool import tool_call as create_tool_call
from langchain_core.outputs import ChatGeneration, ChatResult

from langchain_glm._errors import inference_failed, malformed

PROVIDER = "zhipuai"
"""Value of `response_metadata["model_provider"]` on every message we produce."""

INFERENCE_FAILED = "network_error"
"""GLM's `finish_reason` when inference failed mid-answer (a server failure, retryable)."""

_T = TypeVar("_T")
_JSON_TYPE = {str: "a string", int: "an integer", dict: "an object", list: "an array"}


def field(obj: Mapping[str, Any], key: str, kind: type[_T], where: str = "") -> _T | None:
    """Read an optional field of JSON type `kind`; `None` when absent or null.

    Args:
        obj: The JSON object.
        key: The field name.
        kind: `str`, `int`, `dict` or `list`.
        where: Path of `obj` in the response, for the error message (e.g. `"choices[0]."`).

    Returns:
        The value, or None.

    Raises:
        GLMAPIError: If the value has another type (`bool` is not an integer).
    """
    value = obj.get(key)
    if value is None or (isinstance(value, kind) and type(value) is not bool):
        return value
    raise malformed(
        f"{where}{key} is {type(value).__name__} {excerpt_value(value)}, "
        f"expected {_JSON_TYPE.get(kind, kind.__name__)}"
    )


def excerpt_value(value: Any, limit: int = 60) -> str:
    """A short `repr` of a wrong value for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_choice(obj: Mapping[str, Any], where: str = "") -> dict[str, Any] | None:
    """The first element of `choices`, checked to be an object; None when there is none.

    Args:
        obj: A response body or stream frame.
        where: Path prefix for error messages.

    Returns:
        `choices[0]`, or None when `choices` is absent or empty.

    Raises:
        GLMAPIError: If `choices` is not an array or its first element not an object.
    """
    choices = field(obj, "choices", list, where)
    if not choices:
        return None
    choice = choices[0]
    if not isinstance(choice, dict):
        raise malformed(f"{where}choices[0] is {type(choice).__name__}, expected an object")
    return choice


def usage_to_metadata(usage: Mapping[str, Any]) -> UsageMetadata:
    """Map GLM `usage` to LangChain `UsageMetadata`.

    Args:
        usage: GLM usage object.

    Returns:
        Totals, plus `cache_read` and `reasoning` details when GLM reports them.

    Raises:
        GLMAPIError: If a count is not an integer or a details field not an object.
    """
    input_tokens = field(usage, "prompt_tokens", int, "usage.") or 0
    output_tokens = field(usage, "completion_tokens", int, "usage.") or 0
    total = field(usage, "total_tokens", int, "usage.")
    result = UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=total if total is not None else input_tokens + output_tokens,
    )
    prompt = field(usage, "prompt_tokens_details", dict, "usage.") or {}
    cached = field(prompt, "cached_tokens", int, "usage.prompt_tokens_details.")
    if cached is not None:
        result["input_token_details"] = InputTokenDetails(cache_read=cached)
    completion = field(usage, "completion_tokens_details", dict, "usage.") or {}
    reasoning = field(completion, "reasoning_tokens", int, "usage.completion_tokens_details.")
    if reasoning is not None:
        result["output_token_details"] = OutputTokenDetails(reasoning=reasoning)
    return result


def function_calls(raw_calls: list[Any], where: str) -> list[dict[str, Any]]:
    """The `function` tool calls of a `tool_calls` array, each checked to be an object.

    Built-in tool types (web_search, retrieval) are skipped.

    Args:
        raw_calls: GLM `tool_calls` entries.
        where: Path of the array, for error messages.

    Returns:
        The function-type entries.

    Raises:
        GLMAPIError: If an entry is not an object, or its `type` not a string.
    """
    calls = []
    for position, raw in enumerate(raw_calls):
        if not isinstance(raw, dict):
            raise malformed(f"{where}[{position}] is {type(raw).__name__}, expected an object")
        if (field(raw, "type", str, f"{where}[{position}].") or "function") == "function":
            calls.append(raw)
    return calls


def call_fields(raw: Mapping[str, Any], where: str) -> tuple[str | None, str | None, str]:
    """A tool call's `(id, name, arguments text)`, type-checked.

    Args:
        raw: One GLM tool-call entry (or stream delta).
        where: Its path, for error messages.

    Returns:
        The id and name (None when absent) and the arguments as text ("" when absent).
    """
    function = field(raw, "function", dict, where) or {}
    name = field(function, "name", str, f"{where}function.")
    arguments = function.get("arguments")
    if not (arguments is None or isinstance(arguments, (str, dict))):
        raise malformed(
            f"{where}function.arguments is {type(arguments).__name__}, expected a string"
        )
    return field(raw, "id", str, where), name, arguments_text(arguments)


def parse_tool_calls(
    raw_calls: Iterable[Mapping[str, Any]], *, finish_reason: str | None = None
) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """Parse GLM tool calls; arguments that are not a JSON object become invalid calls.

    Args:
        raw_calls: GLM `tool_calls` entries (function type).
        finish_reason: The choice's finish reason: with `"length"` (output cut off),
            empty arguments are an incomplete call, not a call without arguments.

    Returns:
        The parsed calls and the invalid ones; bad arguments never raise.
    """
    calls: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for position, raw in enumerate(raw_calls):
        call_id, name, args = call_fields(raw, f"tool_calls[{position}].")
        parsed, error = parse_arguments(args, finish_reason=finish_reason)
        if parsed is not None:
            calls.append(create_tool_call(name=name or "", args=parsed, id=call_id))
        else:
            invalid.append(
                create_invalid_tool_call(name=name or "", args=args, id=call_id, error=error)
            )
    return calls, invalid


def parse_arguments(
    args: str, *, finish_reason: str | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    """Parse tool arguments: (object, None) on success, (None, reason) otherwise.

    Args:
        args: The arguments text.
        finish_reason: The finish reason; `"length"` makes empty arguments incomplete.

    Returns:
        The parsed object, or None and why not.
    """
    if not args and finish_reason == "length":
        return None, "the output was cut off (finish_reason='length') before the arguments"
    try:
        parsed = json.loads(args or "{}", strict=False)  # as langchain-core reads streamed ones
    except ValueError as err:
        return None, f"arguments are not valid JSON: {err}"
    if not isinstance(parsed, dict):
        return None, "arguments are not a JSON object"
    return parsed, None


def arguments_text(args: str | dict[str, Any] | None) -> str:
    """Tool arguments as text: GLM sends a JSON string, but sometimes an object.

    Args:
        args: The `function.arguments` value.

    Returns:
        The JSON text ("" when absent).
    """
    if args is None:
        return ""
    if isinstance(args, str):
        return args
    return json.dumps(args, ensure_ascii=False)


def response_metadata(body: Mapping[str, Any], finish_reason: str | None) -> dict[str, Any]:
    """Response metadata of a finished reply (non-stream body or final stream state).

    Args:
        body: The response body (or the accumulated stream fields), already type-checked
            for `model` and `id`.
        finish_reason: The choice's finish reason.

    Returns:
        `model_name`, `finish_reason`, `id`, `model_provider`, and GLM's
        `request_id` / `web_search` / `content_filter` when present.
    """
    meta: dict[str, Any] = {"model_provider": PROVIDER}
    if body.get("model"):
        meta["model_name"] = body["model"]
    if finish_reason:
        meta["finish_reason"] = finish_reason
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

    Raises:
        GLMAPIError: If the body has no choice or no message (`{}`, `choices: []`), a field
            of the wrong type, or GLM reports that inference failed (retryable).
    """
    if not isinstance(body, Mapping):
        raise malformed(f"the body is {type(body).__name__}, expected an object")
    choice = first_choice(body)
    raw = field(choice, "message", dict, "choices[0].") if choice is not None else None
    if choice is None or raw is None:
        raise malformed(f"no choice with a message in {excerpt_value(dict(body), 200)}")
    finish = field(choice, "finish_reason", str, "choices[0].")
    if finish == INFERENCE_FAILED:
        raise inference_failed()
    return ChatResult(
        generations=[ChatGeneration(message=_message(body, raw, finish, model))],
        llm_output={"model_name": body.get("model") or model, "token_usage": body.get("usage")},
    )


def _message(
    body: Mapping[str, Any], raw: Mapping[str, Any], finish: str | None, model: str | None
) -> AIMessage:
    """The `AIMessage` of a response body's first choice (`raw` is its `message`)."""
    where = "choices[0].message."
    meta = {"model": field(body, "model", str) or model, "id": field(body, "id", str)}
    tool_calls = function_calls(field(raw, "tool_calls", list, where) or [], where + "tool_calls")
    calls, invalid = parse_tool_calls(tool_calls, finish_reason=finish)
    reasoning = field(raw, "reasoning_content", str, where) or field(raw, "reasoning", str, where)
    usage = field(body, "usage", dict)
    return AIMessage(
        content=field(raw, "content", str, where) or "",
        additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
        tool_calls=calls,
        invalid_tool_calls=invalid,
        response_metadata=response_metadata({**body, **meta}, finish),
        usage_metadata=usage_to_metadata(usage) if usage else None,
        id=meta["id"],
    )
