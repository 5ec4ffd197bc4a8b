"""LangChain model profiles, derived from the capability table in `langchain_glm._models`.

Nothing here is hand-maintained per model: every value comes from the table, so
`ChatGLM.profile`, the checks made before sending and the local test server agree.
GLM-wide choices: `tool_choice=False` (GLM takes only `"auto"`,
https://docs.z.ai/api-reference/llm/chat-completion) and `structured_output=False`
(there is no native JSON-schema mode; `with_structured_output` emulates it).
"""

from __future__ import annotations

from typing import Any

from langchain_glm._models import ModelSpec


def profile_data(spec: ModelSpec) -> dict[str, Any]:
    """The `ModelProfile` fields of one model.

    Args:
        spec: The model's capabilities.

    Returns:
        The profile data (keys of `langchain_core` `ModelProfile`); unknown limits are left out.
    """
    inputs = spec.inputs if spec.inputs is not None else frozenset({"text"})
    data: dict[str, Any] = {
        "text_inputs": True,
        "text_outputs": True,
        "image_inputs": "image" in inputs,
        "image_url_inputs": "image" in inputs,
        "pdf_inputs": "file" in inputs,
        "audio_inputs": False,
        "video_inputs": "video" in inputs,
        "tool_calling": spec.tools,
        "tool_choice": False,
        "tool_call_streaming": spec.tool_stream,
        "structured_output": False,
        "reasoning_output": spec.thinking != "none",
    }
    if spec.context_window is not None:
        data["max_input_tokens"] = spec.context_window
    if spec.max_output is not None:
        data["max_output_tokens"] = spec.max_output
    if spec.efforts:
        data["reasoning_effort_levels"] = list(spec.efforts)
        data["reasoning_effort_default"] = "max"
    return data
