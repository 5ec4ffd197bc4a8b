"""LangChain's standard unit tests for ChatGLM (run with sockets disabled)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_glm import ChatGLM

pytestmark = pytest.mark.filterwarnings("ignore::langchain_glm.GLMCompatibilityWarning")


class TestChatGLMStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatGLM

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "glm-4.6"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"ZAI_API_KEY": "env-key", "ZAI_BASE_URL": "https://api.z.ai/api/paas/v4"},
            {},
            {"api_key": "env-key", "base_url": "https://api.z.ai/api/paas/v4"},
        )

    @property
    def supports_json_mode(self) -> bool:
        return True
