"""LangChain's standard unit tests for ChatGLM on a GLM-5.3 configuration (sockets disabled).

A second class beside `test_standard.py` (glm-4.6): GLM-5.3 always thinks and takes
`reasoning_effort`, so construction, tool binding and serialization are exercised with
those settings too. Kept independent of `test_standard.py` on purpose.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_glm import ChatGLM

# bind_tools(tool_choice="any"/name) warns that GLM takes only "auto" (by design).
pytestmark = pytest.mark.filterwarnings("ignore::langchain_glm.GLMCompatibilityWarning")


class TestChatGLM53Standard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatGLM

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "glm-5.3", "reasoning_effort": "low"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"ZAI_API_KEY": "env-key", "ZAI_BASE_URL": "https://api.z.ai/api/paas/v4"},
            {"model": "glm-5.3"},
            {"api_key": "env-key", "base_url": "https://api.z.ai/api/paas/v4"},
        )

    @property
    def supports_json_mode(self) -> bool:
        return True
