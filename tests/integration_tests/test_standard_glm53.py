"""LangChain's standard integration tests for ChatGLM on a GLM-5.3 configuration.

A second configuration beside `test_standard.py` (glm-4.6), sharing its settings: GLM-5.3
always thinks and takes `reasoning_effort`, so every call here sends `reasoning_effort="low"`.
`TestChatGLM53Scripted` runs offline against the session's local GLMServer (it serves every
model of the capability table); `TestChatGLM53Live` runs against the real API and is skipped
unless `ZAI_API_KEY` is set.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest

from tests.integration_tests import test_standard as glm46

# bind_tools(tool_choice="any"/name) warns that GLM takes only "auto" (by design).
pytestmark = pytest.mark.filterwarnings("ignore::langchain_glm.GLMCompatibilityWarning")

_GLM53 = {"model": "glm-5.3", "reasoning_effort": "low"}


class TestChatGLM53Scripted(glm46.TestChatGLMScripted):
    """The standard suite on glm-5.3 against a local GLM server (offline)."""

    @property
    def model_override_value(self) -> str | None:
        return "glm-5.2"

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {**super().chat_model_params, **_GLM53}


@pytest.mark.live
class TestChatGLM53Live(glm46.TestChatGLMLive):
    """The standard suite on glm-5.3 against the real GLM API (needs ZAI_API_KEY; costs tokens)."""

    @property
    def model_override_value(self) -> str | None:
        return "glm-5.2"

    @property
    def chat_model_params(self) -> dict[str, Any]:
        params = {**super().chat_model_params, **_GLM53, "max_tokens": 2048}
        del params["thinking"]  # glm-5.3 always thinks
        return params

    @property
    def supported_usage_metadata_details(
        self,
    ) -> dict[Literal["invoke", "stream"], list[glm46.Detail]]:
        return {"invoke": ["reasoning_output", "cache_read_input"], "stream": ["cache_read_input"]}
