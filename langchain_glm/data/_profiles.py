"""Model profiles for GLM chat models (hand-authored; models.dev is not reachable here).

Sources: `glm-api.md` §7.2 (context, max output, thinking, tools, vision, JSON mode)
and langchain-contract §2.6 (GLM overrides: `tool_choice=False` because GLM takes
only `"auto"`, `structured_output=False` because there is no native JSON-schema mode,
`tool_call_streaming=True` on GLM-4.6+).
"""

from __future__ import annotations

from typing import Any

_TEXT: dict[str, Any] = {
    "text_inputs": True,
    "text_outputs": True,
    "image_inputs": False,
    "image_url_inputs": False,
    "pdf_inputs": False,
    "audio_inputs": False,
    "video_inputs": False,
    "tool_calling": True,
    "tool_choice": False,
    "structured_output": False,
    "reasoning_output": True,
    "tool_call_streaming": False,
}
_VISION: dict[str, Any] = {
    **_TEXT,
    "image_inputs": True,
    "image_url_inputs": True,
    "video_inputs": True,
}


def _text(max_input: int, max_output: int, **extra: Any) -> dict[str, Any]:
    return {**_TEXT, "max_input_tokens": max_input, "max_output_tokens": max_output, **extra}


def _vision(max_input: int, max_output: int, **extra: Any) -> dict[str, Any]:
    return {**_VISION, "max_input_tokens": max_input, "max_output_tokens": max_output, **extra}


_K = 1024
PROFILES: dict[str, dict[str, Any]] = {
    "glm-4.6": _text(200 * _K, 128 * _K, tool_call_streaming=True),
    "glm-4.7": _text(200 * _K, 128 * _K, tool_call_streaming=True),
    "glm-4.7-flash": _text(200 * _K, 128 * _K, tool_call_streaming=True),
    "glm-4.5": _text(128 * _K, 96 * _K),
    "glm-4.5-air": _text(128 * _K, 96 * _K),
    "glm-4.5-x": _text(128 * _K, 96 * _K),
    "glm-4.5-airx": _text(128 * _K, 96 * _K),
    "glm-4.5-flash": _text(128 * _K, 96 * _K),
    "glm-4-32b-0414-128k": _text(128 * _K, 16 * _K, reasoning_output=False),
    "glm-4.6v": _vision(128 * _K, 32 * _K),
    "glm-4.6v-flash": _vision(128 * _K, 32 * _K),
    "glm-4.6v-flashx": _vision(128 * _K, 32 * _K),
    "glm-4.5v": _vision(64 * _K, 16 * _K, tool_calling=False),
}
"""Model id -> `ModelProfile` data."""
