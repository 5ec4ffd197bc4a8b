"""Pure request building: LangChain messages, tools and options -> the GLM request body.

GLM accepts a narrower request than OpenAI-style clients send
(https://docs.z.ai/api-reference/llm/chat-completion): a per-model number of stop words,
`tool_choice="auto"` only, `thinking` as an object, `function.arguments` as a JSON string.
Everything here turns LangChain-level messages and parameters into a body GLM takes, or
fails with a clear error before any request is sent. The per-model limits come from the
capability table (`langchain_glm._models`); a model the table does not know is sent as
given, with no client-side limits. Where a request is adapted (thinking that cannot be
turned off, an effort the model ignores, a forcing `tool_choice`), the adaptation is
returned, not warned here: `ChatGLM` warns once per model instance and reason.
Also builds the token-counting request. Nothing here does I/O or keeps state.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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

from langchain_glm._models import ALL_EFFORTS, MODELS, ModelSpec, spec_for
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


def messages_to_glm(
    messages: Sequence[BaseMessage], *, legacy_files: bool = False
) -> list[dict[str, Any]]:
    """Convert LangChain messages to GLM `messages`.

    Args:
        messages: The conversation, oldest first.
        legacy_files: Send files as GLM-4.6V's `file_url` part (by URL only) instead of
            the unified `file` part of GLM-5.3-Flash (see `ModelSpec.file_part`).

    Returns:
        GLM message dicts, ready for the request body.

    Raises:
        MessageConversionError: A message type or content block GLM cannot take,
            or an empty conversation.
    """
    if not messages:
        msg = "GLM needs at least one message; got an empty list."
        raise MessageConversionError(msg)
    return [
        message_to_glm(m, position=i, legacy_files=legacy_files) for i, m in enumerate(messages)
    ]


def message_to_glm(
    message: BaseMessage, *, position: int = 0, legacy_files: bool = False
) -> dict[str, Any]:
    """Convert one LangChain message to a GLM message dict.

    Args:
        message: The message.
        position: Its index in the conversation, used in error messages.
        legacy_files: Send files as `file_url` parts (see `messages_to_glm`).

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
        return {"role": "user", "content": _user_content(message.content, position, legacy_files)}
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
    """GLM wants `function.arguments` as a JSON string (https://docs.z.ai/api-reference/llm/chat-completion)."""
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


def _user_content(
    content: str | list[Any], position: int, legacy_files: bool
) -> str | list[dict[str, Any]]:
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
        where = f"messages[{position}].content[{i}]"
        media = _file_part(block, where, legacy_files) or _media_part(block)
        if media is None:
            raise _unsupported_block(block, position, i, "user")
        parts.append(media)
    if all(p["type"] == "text" for p in parts):
        return _join_text(p["text"] for p in parts)
    return parts


_MEDIA = {"image": "image_url", "video": "video_url"}
"""Standard block type -> GLM vision part type
(https://docs.z.ai/api-reference/llm/chat-completion, vision request)."""


def _media_part(block: Any) -> dict[str, Any] | None:
    """GLM `image_url` / `video_url` part (and the legacy `file_url` part as given).

    Accepts OpenAI-style parts (`{"type": "image_url", "image_url": {"url": ...}}`, and the
    same for `video_url` / `file_url`) and standard v1 blocks (`image` with `url` or
    `base64`; `video` with `url`). Inline images are sent as bare base64.
    """
    if not isinstance(block, dict):
        return None
    kind = str(block.get("type"))
    if kind in (*_MEDIA.values(), "file_url"):
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


_FILE_KEYS = ("file_id", "file_url", "file_data", "filename")


def _file_part(block: Any, where: str, legacy: bool) -> dict[str, Any] | None:
    """GLM's unified `file` part, or GLM-4.6V's legacy `file_url` part, from a `file` block.

    Takes LangChain standard blocks (`{"type": "file", "url" | "base64" + "mime_type" |
    "file_id", "filename"?}`) and the OpenAI form (`{"type": "file", "file": {"file_data":
    "data:...;base64,...", "filename"} | {"file_id"}}`). GLM-5.3-Flash takes
    `{"type": "file", "file": {"file_id" | "file_url" | "file_data", "filename"}}`;
    `file_data` is a data URI and `file_id` comes from GLM's `/files` upload
    (https://docs.z.ai/api-reference/llm/chat-completion, vision request).
    """
    if not (isinstance(block, dict) and block.get("type") == "file"):
        return None
    inner = block.get("file")
    source = dict(inner) if isinstance(inner, dict) else _standard_file(block, where)
    unknown = sorted(set(source) - set(_FILE_KEYS))
    if unknown or not any(source.get(k) for k in _FILE_KEYS[:3]):
        msg = f"{where}: a file part needs one of file_id, file_url or file_data; got {block!r}."
        raise MessageConversionError(msg)
    if not legacy:
        return {"type": "file", "file": {k: v for k, v in source.items() if v}}
    if not source.get("file_url"):
        msg = (
            f"{where}: this model takes files by URL only (the file_url part); file_id and "
            "inline file data need glm-5.3-flash or glm-5.3-flashx."
        )
        raise MessageConversionError(msg)
    return {"type": "file_url", "file_url": {"url": source["file_url"]}}


def _standard_file(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The `file` fields of a LangChain standard (v1, or v0 `source_type`) file block."""
    extras, metadata = (_mapping(block.get(key)) for key in ("extras", "metadata"))
    name = block.get("filename") or extras.get("filename") or metadata.get("filename")
    file_id = block.get("file_id") or (
        block.get("id") if block.get("source_type") == "id" else None
    )
    data = block.get("base64") or block.get("data")
    out: dict[str, Any] = {"filename": name, "file_id": file_id, "file_url": block.get("url")}
    if data:
        mime = block.get("mime_type")
        if not mime:
            msg = (
                f"{where}: an inline (base64) file block needs its mime_type, e.g. application/pdf."
            )
            raise MessageConversionError(msg)
        out["file_data"] = f"data:{mime};base64,{data}"
    return out


def _mapping(value: Any) -> Mapping[str, Any]:
    """The value when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def _strip_data_prefix(url: str) -> str:
    """GLM takes bare base64 for inline images, as Zhipu's own SDK sends it."""
    if url.startswith("data:") and ";base64," in url:
        return url.split(";base64,", 1)[1]
    return url


def _unsupported_block(block: Any, position: int, index: int, role: str) -> MessageConversionError:
    kind = block.get("type") if isinstance(block, dict) else type(block).__name__
    msg = (
        f"messages[{position}].content[{index}]: GLM cannot take a {kind!r} block in a "
        f"{role} message. Text is accepted everywhere; images, videos and files only in "
        "user messages to vision models (glm-5.3-flash, glm-4.6v, ...)."
    )
    return MessageConversionError(msg)


class GLMCompatibilityWarning(UserWarning):
    """A request was adapted to what GLM accepts (e.g. a forcing `tool_choice` sent as "auto").

    `ChatGLM` warns once per model instance and reason. To silence these warnings:
    `warnings.filterwarnings("ignore", category=GLMCompatibilityWarning)`.
    """


@dataclass(frozen=True)
class Adaptation:
    """A change made so that GLM accepts a request, to be warned about once.

    Attributes:
        reason: Stable key (one warning per model instance and reason).
        message: What was changed and why, for the `GLMCompatibilityWarning`.
    """

    reason: str
    message: str


@dataclass(frozen=True)
class Built:
    """A request body ready to send, and the adaptations made to build it.

    Attributes:
        body: The JSON body for `POST /chat/completions`.
        adaptations: What was adapted (warned once by `ChatGLM`).
    """

    body: dict[str, Any]
    adaptations: tuple[Adaptation, ...]


ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
"""Every `reasoning_effort` value GLM's API defines (`langchain_glm._models.ALL_EFFORTS`)."""

MAX_TOOLS = 128
"""Most tools one request may carry (https://docs.z.ai/api-reference/llm/chat-completion)."""

_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BUILTIN_TOOL_TYPES = {"web_search", "retrieval", "mcp"}
_FORCING_CHOICES = {"any", "required"}
_CHOICE_KEYWORDS = {"auto", "none", *_FORCING_CHOICES}
_MEDIA_KINDS = {"image_url": "image", "video_url": "video", "file_url": "file", "file": "file"}


def normalize_stop(stop: str | Sequence[str] | None) -> list[str] | None:
    """Stop words as a list; empty words and empty lists are dropped.

    Args:
        stop: A stop word, a list of them, or None.

    Returns:
        The words, or None when there is none.
    """
    if stop is None:
        return None
    words = [w for w in ([stop] if isinstance(stop, str) else stop) if w]
    return words or None


def stop_words(stop: str | Sequence[str] | None, spec: ModelSpec | None) -> list[str] | None:
    """Stop words to send, checked against the model's limit.

    GLM-4.6 and older take one stop word; the GLM-4.7/5.x reference allows four
    (https://docs.z.ai/api-reference/llm/chat-completion, `stop`).

    Args:
        stop: A stop word, a list of them, or None.
        spec: The model's capabilities (None = unknown model: no limit).

    Returns:
        The words, or None when there is none.

    Raises:
        ValueError: Not a string or a list of strings, or more stop words than the model takes.
    """
    if not _is_stop(stop):
        msg = f"stop={stop!r}: expected a string or a list of strings."
        raise ValueError(msg)
    words = normalize_stop(stop)
    if words and spec is not None and spec.max_stop is not None and len(words) > spec.max_stop:
        msg = (
            f"{spec.name} accepts at most {spec.max_stop} stop sequence(s), got "
            f"{len(words)}: {words!r}."
        )
        raise ValueError(msg)
    return words


def _is_stop(stop: Any) -> bool:
    """Whether a value is a valid `stop` setting (None, a string, a list of strings)."""
    if stop is None or isinstance(stop, str):
        return True
    return isinstance(stop, Sequence) and all(isinstance(word, str) for word in stop)


def check_range(name: str, value: float | None, low: float, high: float, model: str) -> None:
    """Reject a value the model would refuse, before any request is sent.

    Args:
        name: Parameter name, for the message.
        value: The value (None = not set).
        low: Smallest allowed value.
        high: Largest allowed value.
        model: The model, for the message.

    Raises:
        ValueError: The value lies outside `[low, high]`.
    """
    if value is not None and not low <= value <= high:
        msg = f"{name}={value!r} is outside {model}'s range [{low}, {high}]."
        raise ValueError(msg)


def check_limits(params: Mapping[str, Any], spec: ModelSpec | None) -> None:
    """Check `temperature`, `top_p` and `max_tokens` against the capability table.

    A model the table does not know gets no client-side limits: it is sent as given.

    Args:
        params: The resolved call parameters.
        spec: The model's capabilities, or None.

    Raises:
        ValueError: A value outside the model's range.
    """
    if spec is None:
        return
    check_range("temperature", params.get("temperature"), *spec.temperature, spec.name)
    check_range("top_p", params.get("top_p"), *spec.top_p, spec.name)
    high = spec.max_output if spec.max_output is not None else float("inf")
    check_range("max_tokens", params.get("max_tokens"), 1, high, spec.name)


def parse_thinking(value: Any) -> tuple[bool | None, bool | None]:
    """Read a `thinking` setting: `True`, `False`, `None` or GLM's own object.

    Args:
        value: `bool`, `None`, or `{"type": "enabled" | "disabled", "clear_thinking"?: bool}`.

    Returns:
        `(enabled, clear_thinking)`; None where the setting says nothing.

    Raises:
        ValueError: Anything else (`"disabled"`, `0`, `"false"`, unknown keys...).
    """
    if value is None or isinstance(value, bool):
        return value, None
    if isinstance(value, Mapping) and set(value) <= {"type", "clear_thinking"}:
        kind, clear = value.get("type"), value.get("clear_thinking")
        if kind in ("enabled", "disabled") and (clear is None or isinstance(clear, bool)):
            return kind == "enabled", clear
    msg = (
        f"thinking={value!r} is not a thinking setting; use True, False, None or "
        '{"type": "enabled" | "disabled", "clear_thinking": bool}.'
    )
    raise ValueError(msg)


def thinking_param(thinking: bool | None, clear_thinking: bool | None) -> dict[str, Any] | None:
    """GLM `thinking` object; None leaves the server default.

    See https://docs.z.ai/api-reference/llm/chat-completion (`thinking`).

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


def _effort_for(effort: Any, spec: ModelSpec | None) -> tuple[str | None, list[Adaptation]]:
    """The effort to send: checked against the model, dropped where the model ignores it."""
    if effort is None:
        return None, []
    if effort not in ALL_EFFORTS:
        msg = f"reasoning_effort={effort!r} is not one of {', '.join(ALL_EFFORTS)}."
        raise ValueError(msg)
    if spec is None:
        return effort, []
    if not spec.efforts:
        message = (
            f"{spec.name} ignores reasoning_effort (GLM takes it from glm-5.2 on), so "
            f"reasoning_effort={effort!r} is not sent."
        )
        return None, [Adaptation(f"effort-ignored:{spec.name}", message)]
    if effort not in spec.efforts:
        msg = (
            f"{spec.name} does not accept reasoning_effort={effort!r}; it accepts "
            f"{', '.join(spec.efforts)}."
        )
        raise ValueError(msg)
    return effort, []


def reasoning_fields(
    thinking: bool | None, clear: bool | None, effort: Any, spec: ModelSpec | None
) -> tuple[dict[str, Any], list[Adaptation]]:
    """The `thinking` and `reasoning_effort` body fields for a model.

    `thinking=False` on a model that always thinks (GLM-5.3, which answers 400/1210 to
    `disabled`) becomes thinking enabled at the cheapest effort, with an adaptation.
    Efforts go only to models that take them (https://docs.z.ai/guides/llm/glm-5.3).

    Args:
        thinking: Enabled / disabled / None (server default).
        clear: `clear_thinking`, or None.
        effort: `reasoning_effort`, or None (the server default: `max` on GLM-5.2+).
        spec: The model's capabilities, or None (sent as given).

    Returns:
        The body fields and the adaptations made.

    Raises:
        ValueError: An effort the model does not accept.
    """
    effort, notes = _effort_for(effort, spec)
    if spec is not None and spec.thinking == "none":
        if thinking or clear is not None:
            message = f"{spec.name} does not think; the thinking setting is not sent."
            notes.append(Adaptation(f"no-thinking:{spec.name}", message))
        return {}, notes
    if spec is not None and thinking is False and not spec.can_disable_thinking:
        thinking, effort = True, effort or spec.lowest_effort
        message = (
            f"{spec.name} always thinks: thinking cannot be turned off (GLM answers 400/1210). "
            f"thinking=False is sent as thinking enabled with reasoning_effort={effort!r}."
        )
        notes.append(Adaptation(f"thinking-off:{spec.name}", message))
    fields: dict[str, Any] = {}
    thinking_obj = thinking_param(thinking, clear)
    if thinking_obj:
        fields["thinking"] = thinking_obj
    if effort:
        fields["reasoning_effort"] = effort
    return fields, notes


def forced_choice_adaptation(
    tool_choice: Any, tools: Sequence[Mapping[str, Any]]
) -> Adaptation | None:
    """The adaptation a forcing `tool_choice` needs, or None when it forces nothing.

    The one place that decides whether to warn about `tool_choice`; `bind_tools` calls it
    at bind time and `ChatGLM` warns once per model instance.

    Args:
        tool_choice: Any `tool_choice` value.
        tools: The GLM tools it applies to.

    Returns:
        The adaptation, or None.
    """
    if forced_tool_name(tool_choice, tools) is None:
        return None
    message = (
        f"GLM accepts only tool_choice='auto'; tool_choice={tool_choice!r} is sent as 'auto' "
        "with a system instruction to call the tool. Silence with "
        'warnings.filterwarnings("ignore", category=GLMCompatibilityWarning).'
    )
    return Adaptation("tool_choice", message)


def check_tools(tools: Any) -> None:
    """Reject tools GLM would refuse: too many, a bad name, a schema that is no object.

    Limits from https://docs.z.ai/api-reference/llm/chat-completion (`tools`): at most
    128, names matching `^[A-Za-z0-9_-]{1,64}$`, `parameters` a JSON-schema object. An
    empty `parameters` (`{}`) is taken as "no arguments", as GLM takes it.

    Args:
        tools: The `tools` body field.

    Raises:
        ValueError: The first problem found.
    """
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        count = len(tools) if isinstance(tools, list) else type(tools).__name__
        msg = f"GLM takes a list of at most {MAX_TOOLS} tools; got {count}."
        raise ValueError(msg)
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            msg = f"tools[{i}]: not a GLM tool object: {tool!r}."
            raise ValueError(msg)
        if tool["type"] != "function":
            continue
        function = _mapping(tool.get("function"))
        name = function.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            msg = f"tools[{i}]: tool name {name!r} must match ^[A-Za-z0-9_-]{{1,64}}$."
            raise ValueError(msg)
        schema = function.get("parameters", {})
        if not isinstance(schema, dict) or schema.get("type", "object") != "object":
            msg = f"tools[{i}] ({name}): parameters must be a JSON-schema object; got {schema!r}."
            raise ValueError(msg)


def check_tool_results(messages: Sequence[Mapping[str, Any]]) -> None:
    """Every tool result answers an earlier call; every call is answered before the next user turn.

    Args:
        messages: GLM messages.

    Raises:
        ValueError: A `ToolMessage` answering no earlier call, or an unanswered call.
    """
    called: set[str] = set()
    pending: dict[str, int] = {}
    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            ids = [str(call.get("id")) for call in message.get("tool_calls") or []]
            called.update(ids)
            pending.update(dict.fromkeys(ids, i))
        elif message["role"] == "tool":
            call_id = message["tool_call_id"]
            if call_id not in called:
                msg = f"messages[{i}]: ToolMessage {call_id=!r} answers no earlier tool call."
                raise ValueError(msg)
            pending.pop(call_id, None)
        elif message["role"] == "user" and pending:
            msg = (
                f"messages[{i}]: tool call(s) {sorted(pending)} from "
                f"messages[{min(pending.values())}] are never answered; add a ToolMessage "
                "for each before the next user message."
            )
            raise ValueError(msg)


def check_inputs(messages: Sequence[Mapping[str, Any]], spec: ModelSpec | None) -> None:
    """Reject images, videos and files for a model that cannot take them.

    Also rejects a `file` part mixed with image or video parts in one message, which
    GLM's vision request does not allow
    (https://docs.z.ai/api-reference/llm/chat-completion, vision request).

    Args:
        messages: GLM messages.
        spec: The model's capabilities, or None (an unknown model: not checked).

    Raises:
        ValueError: The first such part.
    """
    if spec is None:
        return
    for i, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        types = {part.get("type") for part in content}
        if "file" in types and types & {"image_url", "video_url"}:
            msg = f"messages[{i}]: GLM cannot mix a file part with image or video parts."
            raise ValueError(msg)
        kinds = {_MEDIA_KINDS[t] for t in types if t in _MEDIA_KINDS}
        if spec.inputs is not None and kinds - spec.inputs:
            takers = [name for name, s in _vision_models() if kinds <= s]
            msg = (
                f"messages[{i}]: {spec.name} cannot take {', '.join(sorted(kinds - spec.inputs))} "
                f"input; models that can: {', '.join(takers)}."
            )
            raise ValueError(msg)


def _vision_models() -> list[tuple[str, frozenset[str]]]:
    """Models of the table and the inputs they take, for error messages."""
    return [(name, s.inputs) for name, s in MODELS.items() if s.inputs and len(s.inputs) > 1]


def forced_tool_name(tool_choice: Any, tools: Sequence[Mapping[str, Any]]) -> str | None:
    """What a forcing `tool_choice` asks for, in words; None when it forces nothing.

    GLM only accepts `tool_choice="auto"`
    (https://docs.z.ai/api-reference/llm/chat-completion), so forcing is done by
    instruction instead (see `steer_to_tools`). Pure: warning is `forced_choice_adaptation`'s job.

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


PARAM_KEYS = (
    "thinking",
    "clear_thinking",
    "reasoning_effort",
    "temperature",
    "top_p",
    "max_tokens",
    "do_sample",
    "tool_stream",
    "stop",
)
"""Call parameters `build_request` resolves and checks itself (the rest of a body is `extra`)."""

_NO_LOGPROBS = "GLM returns no log probabilities"
_NO_PENALTY = "GLM's chat API has no repetition penalties; tune temperature or top_p instead"
_REFUSED = {
    "logprobs": _NO_LOGPROBS,
    "top_logprobs": _NO_LOGPROBS,
    "frequency_penalty": _NO_PENALTY,
    "presence_penalty": _NO_PENALTY,
}
"""ChatOpenAI keywords with no GLM equivalent: a set value is refused before sending (an unset,
`False` or `0` one, which asks for nothing, is dropped), since GLM would ignore it silently."""

OPENAI_KWARGS: Mapping[str, str] = {
    "extra_body": "merged into the request body, as ChatOpenAI does; its ChatGLM fields "
    "(`thinking`, `max_tokens`, ...) are checked like the fields",
    "stream_usage": "always on: GLM reports usage on every reply and on a stream's last chunk; "
    "not sent",
    "n": "`1` is not sent; more is a `ValueError` (GLM returns one choice per request)",
    "max_completion_tokens": "sent as `max_tokens` (GLM ignores `max_completion_tokens`)",
    **{key: f"`ValueError`: {why}" for key, why in _REFUSED.items()},
    "seed": "sent as given (zai-sdk sends it; GLM does not document it)",
}
"""ChatOpenAI keywords a migrated app passes, and what ChatGLM does with each (a test keeps
the README "Migration" table equal to it). What GLM reads:
https://docs.z.ai/api-reference/llm/chat-completion ."""


def adopt_openai_kwargs(params: Mapping[str, Any]) -> dict[str, Any]:
    """Apply `OPENAI_KWARGS` to resolved call parameters, before anything is built.

    Args:
        params: Resolved parameters, as for `build_request`; their `extra` may hold
            ChatOpenAI keywords (`extra_body`, `n`, `stream_usage`, ...).

    Returns:
        New parameters: `extra_body` fields moved to where they belong (a `thinking` in it
        is checked like the field), the other keywords mapped or dropped.

    Raises:
        ValueError: `n` > 1, a keyword GLM has no equivalent for, a non-mapping
            `extra_body`, or `max_completion_tokens` beside a different `max_tokens`.
    """
    out = dict(params)
    extra = dict(params.get("extra") or {})
    body = extra.pop("extra_body", None) or {}
    if not isinstance(body, Mapping):
        msg = f"extra_body={body!r}: expected a mapping of request-body fields."
        raise ValueError(msg)
    for key, value in body.items():
        (out if key in PARAM_KEYS else extra)[key] = value
    for key, why in _REFUSED.items():
        if extra.pop(key, None) not in (None, False):
            msg = f"{key}: {why}; remove it. Nothing was sent."
            raise ValueError(msg)
    n = extra.pop("n", None)
    if n not in (None, 1):
        msg = (
            f"n={n!r}: GLM returns one choice per request; for {n} answers call "
            f"llm.batch([prompt] * {n}). Nothing was sent."
        )
        raise ValueError(msg)
    extra.pop("stream_usage", None)
    limit = extra.pop("max_completion_tokens", None)
    if limit is not None and out.get("max_tokens") not in (None, limit):
        msg = f"max_completion_tokens={limit!r} and max_tokens={out['max_tokens']!r}: set one."
        raise ValueError(msg)
    if limit is not None:
        out["max_tokens"] = limit
    out["extra"] = extra
    return out


def build_request(messages: Sequence[BaseMessage], params: Mapping[str, Any]) -> Built:
    """Assemble and check the request body from messages and resolved call parameters.

    Args:
        messages: The conversation.
        params: Resolved parameters: `model`, `stream`, `thinking`, `clear_thinking`,
            `reasoning_effort`, `temperature`, `top_p`, `max_tokens`, `do_sample`, `stop`,
            `tool_stream`, and `extra` (other body fields such as `tools`,
            `tool_choice`, `response_format`, `model_kwargs` entries, and the ChatOpenAI
            keywords of `OPENAI_KWARGS`).

    Returns:
        The body and the adaptations made.

    Raises:
        ValueError: Bad input (see the checks above), detected before any request is sent.
    """
    params = adopt_openai_kwargs(params)
    model = params["model"]
    if not isinstance(model, str) or not model.strip():
        msg = f"model={model!r}: a GLM model id is needed, e.g. 'glm-4.6' or 'glm-5.3'."
        raise ValueError(msg)
    spec = spec_for(model)
    check_limits(params, spec)
    legacy = spec is not None and spec.file_part == "file_url"
    body: dict[str, Any] = {
        "model": model,
        "messages": messages_to_glm(messages, legacy_files=legacy),
    }
    for key in ("temperature", "top_p", "max_tokens", "do_sample"):
        if params.get(key) is not None:
            body[key] = params[key]
    stop = stop_words(params.get("stop"), spec)
    if stop:
        body["stop"] = stop
    enabled, clear = parse_thinking(params.get("thinking"))
    clear = clear if clear is not None else params.get("clear_thinking")
    fields, notes = reasoning_fields(enabled, clear, params.get("reasoning_effort"), spec)
    body.update(fields)
    body.update(params.get("extra") or {})
    _check_body(body, spec)
    _apply_tool_choice(body)
    body["stream"] = bool(params.get("stream"))
    notes += _tool_stream(body, bool(params.get("tool_stream")), spec)
    notes += _response_format(body, spec)
    return Built(body=body, adaptations=tuple(notes))


def _check_body(body: Mapping[str, Any], spec: ModelSpec | None) -> None:
    """The checks on the assembled messages and tools."""
    if "tools" in body:
        check_tools(body["tools"])
    if body.get("tools") and spec is not None and not spec.tools:
        takers = [name for name, s in MODELS.items() if s.tools and s.inputs == spec.inputs]
        msg = (
            f"{spec.name} takes no tools (GLM documents tools for it nowhere); models with "
            f"the same inputs that do: {', '.join(takers)}. Nothing was sent."
        )
        raise ValueError(msg)
    check_tool_results(body["messages"])
    check_inputs(body["messages"], spec)


def _tool_stream(body: dict[str, Any], wanted: bool, spec: ModelSpec | None) -> list[Adaptation]:
    """Send `tool_stream` on streaming calls with tools, where the model streams tool calls."""
    if not (wanted and body["stream"] and body.get("tools")):
        return []
    if spec is not None and not spec.tool_stream:
        message = f"{spec.name} does not stream tool-call arguments; tool_stream is not sent."
        return [Adaptation(f"tool_stream:{spec.name}", message)]
    body["tool_stream"] = True
    return []


def _response_format(body: dict[str, Any], spec: ModelSpec | None) -> list[Adaptation]:
    """Drop `response_format` for models that take none (GLM: "text models only").

    https://docs.z.ai/api-reference/llm/chat-completion gives `response_format` only in the
    text-model request; the vision request has no such field. A `{"type": "text"}` asks
    for the default and is dropped silently; JSON mode is dropped with an adaptation (the
    JSON instruction of `with_structured_output(method="json_mode")` stays in the prompt,
    and its result is still validated).
    """
    wanted = body.get("response_format")
    if wanted is None or spec is None or spec.json_mode:
        return []
    del body["response_format"]
    if isinstance(wanted, Mapping) and wanted.get("type") == "text":
        return []
    message = (
        f"{spec.name} takes no response_format (GLM offers JSON mode on text models only); "
        f"response_format={wanted!r} is not sent, and the prompt alone asks for JSON."
    )
    return [Adaptation(f"response_format:{spec.name}", message)]


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
    """Body of GLM's token-counting request (`POST {base}/tokenizer`).

    GLM's API reference (https://docs.z.ai/api-reference) documents it for glm-4.6,
    glm-4.6v and glm-4.5 only (`ModelSpec.tokenizer`).

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


def body_key(body: Mapping[str, Any]) -> str:
    """A stable hash of a request body (key order does not matter), for caches.

    Args:
        body: A JSON-serializable body.

    Returns:
        The SHA-256 hex digest of its canonical JSON.
    """
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


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
