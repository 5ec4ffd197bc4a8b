"""The GLM model capability table: the single source of truth for what each model can do.

Pure data. Three things read it: the model profiles (`ChatGLM.profile`), the checks made
before a request is sent, and the local GLM server's per-model limits in
`langchain_glm.testing`. The server also checks every body against its own copy of GLM's
documented rules (`langchain_glm.testing._spec`, written from the references, not from this
table), and a test compares the two model by model, so a wrong entry here fails a test.

Sources (public): the chat-completions reference
https://docs.z.ai/api-reference/llm/chat-completion (request fields, enums and ranges per
model), the model guides https://docs.z.ai/guides/llm/glm-5.3 ,
https://docs.z.ai/guides/llm/glm-5.3-flash , https://docs.z.ai/guides/llm/glm-4.6 ,
https://docs.bigmodel.cn/cn/guide/models/text/glm-5 and the thinking guide
https://docs.bigmodel.cn/cn/guide/capabilities/thinking-mode . Where sources conflict the
entry's `note` says which one was chosen and why; the rule is never to block a request
that GLM accepts.

A model the table does not know is sent as given, with no client-side limits, except that
an unknown `glm-5.N` (N >= 3) is taken as always-thinking with efforts low/high/max, the
behaviour Z.ai documents for the GLM-5.3 generation; its inputs are not checked (media are
sent as given and GLM decides).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

Thinking = Literal["none", "hybrid", "forced", "always"]
"""How a model thinks: `none` never; `hybrid` decides per request and can be turned off;
`forced` always thinks while enabled and can be turned off; `always` cannot be turned off."""

ALL_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
"""Every `reasoning_effort` value GLM's API defines, from cheapest to most thorough."""

_TEXT = frozenset({"text"})
_VISION = frozenset({"text", "image", "video", "file"})
_K = 1024
_1M = 1_048_576


@dataclass(frozen=True)
class ModelSpec:
    """What one GLM model accepts and can do.

    Attributes:
        name: The model id, lower case, as sent in `model`.
        context_window: Prompt plus output tokens the model can hold; None = unknown.
        max_output: Largest accepted `max_tokens`; None = unknown (not checked).
        thinking: How the model thinks (see `Thinking`).
        efforts: The `reasoning_effort` values the model accepts, cheapest first. Empty
            means the model ignores the field (it is then not sent).
        inputs: Content kinds a user message may carry (`text`, `image`, `video`,
            `file`); None = unknown (not checked).
        tools: Whether the model takes function tools.
        tool_stream: Whether the model streams tool-call arguments (`tool_stream`).
        json_mode: Whether the model takes `response_format={"type": "json_object"}`.
        file_part: How files are sent: GLM-5.3-Flash's unified `file` part
            (`file_id`, `file_url` or `file_data`), or GLM-4.6V's legacy `file_url`
            part (by URL only).
        tokenizer: Whether GLM's `/tokenizer` endpoint counts tokens for this model.
        availability: Where GLM serves the model, when that is not every base URL
            (GLM-5.4: the Coding Plan only, for now); added to GLM's 1211 "unknown model"
            error for it. Empty = every base.
        max_stop: Most stop words accepted; None = unknown (not checked).
        temperature: Accepted `temperature` range, inclusive.
        top_p: Accepted `top_p` range, inclusive.
        note: Why an entry says what it says where the sources disagree.
    """

    name: str
    context_window: int | None
    max_output: int | None
    thinking: Thinking = "hybrid"
    efforts: tuple[str, ...] = ()
    inputs: frozenset[str] | None = _TEXT
    tools: bool = True
    tool_stream: bool = False
    json_mode: bool = True
    file_part: Literal["file", "file_url"] = "file"
    tokenizer: bool = False
    max_stop: int | None = 1
    temperature: tuple[float, float] = (0.0, 1.0)
    top_p: tuple[float, float] = (0.01, 1.0)
    availability: str = ""
    note: str = field(default="", compare=False)

    @property
    def can_disable_thinking(self) -> bool:
        """Whether `thinking={"type": "disabled"}` is accepted."""
        return self.thinking in ("hybrid", "forced")

    @property
    def lowest_effort(self) -> str | None:
        """The cheapest accepted `reasoning_effort` that still thinks, if any."""
        thinking = [e for e in self.efforts if e not in ("none", "minimal")]
        return thinking[0] if thinking else None


_GEN_53 = ("low", "high", "max")
_STOP_4 = (
    "The 5.3-era reference gives `stop` maxItems 4 while its prose still says one word; "
    "4 is accepted, so 4 is allowed."
)


_G45 = "GLM-4.5 series: 128K context, 96K output (docs.z.ai/guides/llm/glm-4.5)."
_V46 = (
    "GLM-4.6V series: 128K context, 32K output; response_format is for text models only. "
    "Files go as the legacy file_url part (by URL): file_id works only on GLM-5.3-Flash."
)
_GLM46_FAMILY = (
    # GLM-4.5 / 4.6 generation, including the vision models and GLM-4-32B.
    ModelSpec("glm-4.6", 200 * _K, 128 * _K, tool_stream=True, tokenizer=True),
    ModelSpec("glm-4.5", 128 * _K, 96 * _K, tokenizer=True, note=_G45),
    *(
        ModelSpec(name, 128 * _K, 96 * _K, note=_G45)
        for name in ("glm-4.5-air", "glm-4.5-x", "glm-4.5-airx", "glm-4.5-flash")
    ),
    *(
        ModelSpec(
            name,
            128 * _K,
            32 * _K,
            inputs=_VISION,
            json_mode=False,
            file_part="file_url",
            tokenizer=name == "glm-4.6v",
            note=_V46,
        )
        for name in ("glm-4.6v", "glm-4.6v-flash", "glm-4.6v-flashx")
    ),
    ModelSpec(
        "glm-4.5v",
        64 * _K,
        16 * _K,
        thinking="forced",
        inputs=_VISION,
        tools=False,
        json_mode=False,
        file_part="file_url",
        note="Context: LiteLLM says 128K, sup.ai 64K; 64K is the safer profile and is not "
        "enforced before sending. Tools are documented only for GLM-4.6V.",
    ),
    ModelSpec(
        "glm-4-32b-0414-128k",
        128 * _K,
        16 * _K,
        thinking="none",
        note="No thinking: thinking is a GLM-4.5+ feature.",
    ),
)


_IGNORED_EFFORT = "reasoning_effort is tolerated (HTTP 200) but has no effect, so it is not sent."
_GLM47_FAMILY = tuple(
    # GLM-4.7 generation: forced thinking while enabled; reasoning_effort ignored.
    ModelSpec(
        name,
        200 * _K,
        128 * _K,
        thinking="forced",
        tool_stream=name == "glm-4.7",
        max_stop=4,
        note=f"{_IGNORED_EFFORT} {_STOP_4}",
    )
    for name in ("glm-4.7", "glm-4.7-flash", "glm-4.7-flashx")
)


GLM54_AVAILABILITY = (
    "GLM-5.4 is served on the GLM Coding Plan only until Z.ai opens the Model API after its "
    "security assessment (https://docs.z.ai/guides/llm/glm-5.4): use base_url "
    "https://api.z.ai/api/coding/paas/v4 or https://open.bigmodel.cn/api/coding/paas/v4 "
    "with a Coding Plan key"
)
"""Why the pay-as-you-go Model API may answer 1211 (unknown model) for GLM-5.4."""

_FLASH_53 = (
    "Vision schema (text, image, video, file). tool_stream and response_format are absent "
    f"from that schema, so neither is offered. {_STOP_4}"
)
_GLM5_FAMILY = (
    # GLM-5 generation: 1M context from 5.2, efforts from 5.2, always-on thinking on 5.3.
    ModelSpec("glm-5", 200 * _K, 128 * _K, tool_stream=True, max_stop=4, note=_STOP_4),
    ModelSpec(
        "glm-5.1",
        200 * _K,
        128 * _K,
        tool_stream=True,
        max_stop=4,
        note=f"reasoning_effort has no visible effect on GLM-5.1, so it is not sent. {_STOP_4}",
    ),
    ModelSpec(
        "glm-5.2",
        _1M,
        128 * _K,
        efforts=ALL_EFFORTS,
        tool_stream=True,
        max_stop=4,
        note="The reference accepts all seven efforts (none/minimal skip thinking, low/medium "
        "map to high, xhigh to max); the open-weights README says only high/max, but the "
        f"hosted API accepts all, so all are allowed. {_STOP_4}",
    ),
    ModelSpec(
        "glm-5.3",
        _1M,
        128 * _K,
        thinking="always",
        efforts=_GEN_53,
        tool_stream=True,
        max_stop=4,
        note="Thinking cannot be disabled (400/1210); efforts low/high/max only on /paas/v4 "
        f"(the coding base also takes medium: not special-cased). {_STOP_4}",
    ),
    *(
        ModelSpec(
            name,
            _1M,
            128 * _K,
            thinking="always",
            efforts=_GEN_53,
            inputs=_VISION,
            json_mode=False,
            max_stop=4,
            note=_FLASH_53,
        )
        for name in ("glm-5.3-flash", "glm-5.3-flashx")
    ),
    ModelSpec(
        "glm-5.4",
        _1M,
        128 * _K,
        thinking="always",
        efforts=_GEN_53,
        inputs=_VISION,
        tool_stream=True,
        max_stop=4,
        availability=GLM54_AVAILABILITY,
        note="Released 2026-12-02 (https://docs.z.ai/guides/llm/glm-5.4): native image, video "
        "and file input, 1M context, thinking, tools, structured output. Max output 128K per "
        "docs.bigmodel.cn (Vercel lists 262,144: unconfirmed, so 128K). Thinking and efforts "
        f"are taken from GLM-5.3 (not documented separately), so is tool_stream. {_STOP_4}",
    ),
    ModelSpec(
        "glm-5.3-flashx-legal",
        _1M,
        128 * _K,
        thinking="always",
        efforts=_GEN_53,
        inputs=frozenset({"text", "image", "video"}),
        json_mode=False,
        max_stop=4,
        note="GLM-Legal, the legal-domain GLM-5.3-FlashX: text, image and video input, 1M "
        "context, mandatory thinking, tools. Max output, efforts and the vision schema "
        f"(no response_format, no tool_stream) are FlashX's. {_STOP_4}",
    ),
    ModelSpec(
        "glm-5-turbo",
        200 * _K,
        128 * _K,
        tool_stream=True,
        max_stop=4,
        note="Dropped from the 5.3-era model list; kept so calls that still work get limits. "
        "tool_stream: BigModel's reference lists it (GLM-5.1/5/5-Turbo/4.7/4.6).",
    ),
    ModelSpec(
        "glm-5v-turbo",
        202_752,
        128 * _K,
        inputs=_VISION,
        json_mode=False,
        max_stop=4,
        note="Dropped from the 5.3-era model list; kept so calls that still work get limits.",
    ),
)


MODELS: Mapping[str, ModelSpec] = {
    spec.name: spec for spec in (*_GLM46_FAMILY, *_GLM47_FAMILY, *_GLM5_FAMILY)
}
"""Every served GLM chat model, by lower-case id."""

_FUTURE_GLM5 = re.compile(r"glm-5\.(\d+)(-[a-z0-9-]+)?")


def spec_for(model: str) -> ModelSpec | None:
    """Return the capabilities of a model, or None when the table does not know it.

    Args:
        model: A model id, any case (`"GLM-5.3"` and `"glm-5.3"` are the same model).

    Returns:
        The model's spec; for an unknown `glm-5.N` with N >= 3, an always-thinking spec
        with efforts low/high/max and no other limits; otherwise None.

    Example:
        ```python
        from langchain_glm._models import spec_for

        assert spec_for("GLM-5.3").can_disable_thinking is False
        assert spec_for("glm-5.9").efforts == ("low", "high", "max")
        assert spec_for("my-finetune") is None
        ```
    """
    name = model.strip().lower()
    spec = MODELS.get(name)
    if spec is not None:
        return spec
    match = _FUTURE_GLM5.fullmatch(name)
    if match is None or int(match.group(1)) < 3:
        return None
    return replace(
        MODELS["glm-5.3"],
        name=name,
        context_window=None,
        max_output=None,
        inputs=None,
        max_stop=None,
        note="Not in the table: a later GLM-5 is taken as always-thinking with low/high/max.",
    )


_THINKING_TEXT = {
    "none": ("never", "not sent"),
    "hybrid": ("on; decides per request", "`disabled`"),
    "forced": ("always while on", "`disabled`"),
    "always": ("always on", "effort `low` (warns)"),
}


def _tokens(count: int | None) -> str:
    """1048576 -> `1M`, 131072 -> `128K`; None -> `?`."""
    if count is None:
        return "?"
    if count % _1M == 0:
        return f"{count // _1M}M"
    return f"{round(count / _K)}K"


def _row(spec: ModelSpec) -> str:
    """One README table row of a model."""
    thinks, off = _THINKING_TEXT[spec.thinking]
    cells = [
        f"`{spec.name}`",
        _tokens(spec.context_window),
        _tokens(spec.max_output),
        thinks,
        off,
        ", ".join(f"`{e}`" for e in spec.efforts) or "ignored (not sent)",
        ", ".join(sorted(spec.inputs or {"text"}, key=lambda kind: (kind != "text", kind))),
        "yes" if spec.tools else "no",
        "yes" if spec.tool_stream else "no",
        "yes" if spec.json_mode else "not sent (warns)",
        str(spec.max_stop) if spec.max_stop is not None else "any",
        "exact" if spec.tokenizer else "approximate",
    ]
    return "| " + " | ".join(cells) + " |"


def markdown_table() -> str:
    """The README's model table, rendered from `MODELS` (a test keeps the README equal to it).

    Returns:
        A Markdown table: one row per model, what it can do and what `thinking=False`,
        `reasoning_effort`, stop words and token counting do on it.

    Example:
        ```python
        from langchain_glm._models import markdown_table

        assert "| `glm-5.3` | 1M | 128K | always on |" in markdown_table()
        ```
    """
    header = (
        "| Model | Context | Max output | Thinking | `thinking=False` sends | "
        "`reasoning_effort` | Inputs | Tools | `tool_stream` | JSON mode | Stop words | "
        "Token count |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    return "\n".join([header, *(_row(spec) for spec in MODELS.values())])


__all__ = [
    "ALL_EFFORTS",
    "GLM54_AVAILABILITY",
    "MODELS",
    "ModelSpec",
    "Thinking",
    "markdown_table",
    "spec_for",
]
