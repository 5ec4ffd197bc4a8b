"""GLM's documented chat request rules per model family: the test server's own copy.

Written from GLM's public references, not from the client's capability table
(`langchain_glm._models`), and never importing it: the two are kept apart on purpose, so a
wrong table entry makes the client send a body this server refuses, or a test comparing the
two fails. Sources:

- the chat-completions reference, whose request is one of two schemas, "Text Model" and
  "Vision Model" (https://docs.z.ai/api-reference/llm/chat-completion): `response_format`
  ("only text models support this field") and `tool_stream` exist only in the text schema;
  `stop` takes one word (four in the GLM-4.7 / 5.x reference); `max_tokens` per series
  (128K for GLM-4.6 to 5.x, 96K GLM-4.5, 32K GLM-4.6V, 16K GLM-4.5V and GLM-4-32B);
- `thinking.type`: "GLM-5.3 / GLM-5.3-Flash series can only be enabled", `reasoning_effort`
  low/high/max there, all seven values from GLM-5.2 (https://docs.z.ai/guides/llm/glm-5.3);
- vision tools: "only supported by the GLM-4.6V series" in the GLM-4.x vision reference,
  extended to GLM-5V-Turbo and GLM-5.3-Flash by the GLM-5.x guides;
- GLM-5.4 (https://docs.z.ai/guides/llm/glm-5.4, https://docs.bigmodel.cn/cn/guide/models/glm-5.4):
  video, image, text and file input, 128K output, thinking, tools, structured output.

A rule the sources leave open is `None` and not checked: the server then accepts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_K = 1024
EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh", "max"})
"""The `reasoning_effort` enum of the reference."""
_GEN_53 = frozenset({"low", "high", "max"})
_TEXT_PARTS = frozenset({"text"})
_VISION_PARTS = frozenset({"text", "image_url", "video_url", "file_url"})


@dataclass(frozen=True)
class Family:
    """The documented request rules shared by a group of models.

    Attributes:
        models: The model ids, lower case.
        parts: Content-part types a user message may carry.
        json_mode: Whether `response_format` is in the family's schema.
        tool_stream: Whether `tool_stream` is in the family's schema for these models.
        tools: Whether the family's reference documents tools for these models.
        max_stop: Most stop words.
        max_output: Largest `max_tokens`.
        can_disable_thinking: Whether `thinking.type="disabled"` is accepted; None = open.
        efforts: Accepted `reasoning_effort` values; None = not documented (GLM-4.x and
            GLM-5 / 5.1 tolerate the field and ignore it), so not checked.
    """

    models: frozenset[str]
    parts: frozenset[str]
    json_mode: bool
    tool_stream: bool
    tools: bool
    max_stop: int
    max_output: int
    can_disable_thinking: bool | None = True
    efforts: frozenset[str] | None = None


def _family(names: str, **rules: Any) -> Family:
    return Family(models=frozenset(names.split()), **rules)


_TEXT = {"parts": _TEXT_PARTS, "json_mode": True, "tools": True}
_VISION = {"json_mode": False, "tool_stream": False}
_FLASH_53 = {
    **_VISION,
    "tools": True,
    "max_stop": 4,
    "max_output": 128 * _K,
    "can_disable_thinking": False,
    "efforts": _GEN_53,
}
FAMILIES: tuple[Family, ...] = (
    _family("glm-4.6", **_TEXT, tool_stream=True, max_stop=1, max_output=128 * _K),
    _family(
        "glm-4.5 glm-4.5-air glm-4.5-x glm-4.5-airx glm-4.5-flash",
        **_TEXT,
        tool_stream=False,
        max_stop=1,
        max_output=96 * _K,
    ),
    _family("glm-4-32b-0414-128k", **_TEXT, tool_stream=False, max_stop=1, max_output=16 * _K),
    _family("glm-4.7 glm-5 glm-5.1", **_TEXT, tool_stream=True, max_stop=4, max_output=128 * _K),
    _family(
        "glm-4.7-flash glm-4.7-flashx", **_TEXT, tool_stream=False, max_stop=4, max_output=128 * _K
    ),
    # GLM-5-Turbo: BigModel's reference lists tool_stream for it (GLM-5.1/5/5-Turbo/4.7/4.6).
    _family("glm-5-turbo", **_TEXT, tool_stream=True, max_stop=4, max_output=128 * _K),
    _family("glm-5.2", **_TEXT, tool_stream=True, max_stop=4, max_output=128 * _K, efforts=EFFORTS),
    _family(
        "glm-5.3",
        **_TEXT,
        tool_stream=True,
        max_stop=4,
        max_output=128 * _K,
        can_disable_thinking=False,
        efforts=_GEN_53,
    ),
    _family(
        "glm-4.6v glm-4.6v-flash glm-4.6v-flashx",
        **_VISION,
        parts=_VISION_PARTS,
        tools=True,
        max_stop=1,
        max_output=32 * _K,
    ),
    _family(
        "glm-4.5v", **_VISION, parts=_VISION_PARTS, tools=False, max_stop=1, max_output=16 * _K
    ),
    _family(
        "glm-5v-turbo",
        **_VISION,
        parts=_VISION_PARTS | {"file"},
        tools=True,
        max_stop=4,
        max_output=128 * _K,
    ),
    _family("glm-5.3-flash glm-5.3-flashx", **_FLASH_53, parts=_VISION_PARTS | {"file"}),
    # GLM-Legal: text, image and video; mandatory thinking; FlashX's vision schema otherwise.
    _family(
        "glm-5.3-flashx-legal", **_FLASH_53, parts=frozenset({"text", "image_url", "video_url"})
    ),
    # GLM-5.4: native vision with structured output; thinking and tool_stream not documented.
    _family(
        "glm-5.4",
        parts=_VISION_PARTS | {"file"},
        json_mode=True,
        tool_stream=True,
        tools=True,
        max_stop=4,
        max_output=128 * _K,
        can_disable_thinking=None,
    ),
)
"""Every model family the references document, newest rules first within a generation."""

_BY_MODEL = {model: family for family in FAMILIES for model in family.models}
_ALWAYS = (
    "This model always engages in thinking and cannot be disabled; please use low, high, or max"
)


def family_of(model: str) -> Family | None:
    """The documented rules of a model, or None when the references do not cover it."""
    return _BY_MODEL.get(model.strip().lower())


def problems(body: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """What GLM's documented schema refuses in a chat body, as (GLM code, message) pairs.

    Args:
        body: A chat-completions (or batch line, or tokenizer) body whose model, messages and
            types the service has already checked.

    Yields:
        One pair per rule broken, in the order GLM checks fields: messages, then parameters.
    """
    family = family_of(str(body.get("model", "")))
    if family is None:
        return
    yield from _parts(body.get("messages") or [], family)
    yield from _fields(body, family)


def _parts(messages: list[Any], family: Family) -> Iterator[tuple[str, str]]:
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        kinds = (
            {p.get("type") for p in content if isinstance(p, dict)}
            if isinstance(content, list)
            else set()
        )
        for kind in sorted(str(k) for k in kinds - family.parts):
            yield "1210", f"messages[{i}]: content type {kind} is not supported by this model"


def _fields(body: Mapping[str, Any], family: Family) -> Iterator[tuple[str, str]]:
    if "response_format" in body and not family.json_mode:
        yield "1210", "response_format: only text models support this field"
    if body.get("tool_stream") and not family.tool_stream:
        yield "1210", "tool_stream: not supported by this model"
    if body.get("tools") and not family.tools:
        yield "1210", "tools: function calling is not supported by this model"
    stop = body.get("stop")
    if isinstance(stop, list) and len(stop) > family.max_stop:
        yield "1210", f"stop: at most {family.max_stop} stop word(s) supported"
    limit = body.get("max_tokens")
    if isinstance(limit, int) and not 1 <= limit <= family.max_output:
        yield "1210", f"max_tokens参数非法：限制数值范围[1,{family.max_output}]"  # noqa: RUF001
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "disabled" and family.can_disable_thinking is False:
        yield "1210", _ALWAYS
    effort = body.get("reasoning_effort")
    if effort is not None and family.efforts is not None and effort not in family.efforts:
        yield "1210", _ALWAYS if family.efforts == _GEN_53 else "reasoning_effort: invalid value"
