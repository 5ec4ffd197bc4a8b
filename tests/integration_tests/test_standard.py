"""LangChain's standard integration tests for ChatGLM.

`TestChatGLMScripted` runs offline in `make test`, against a local GLMServer driven by
the request-aware script `langchain_glm.testing.auto_reply`. `TestChatGLMLive` runs the
same suite against the real API and is skipped unless `ZAI_API_KEY` is set.

Image, PDF and audio tests stay off (`supports_*_inputs` False): they download their
assets from the internet, and the default model (glm-4.6) is text-only.
"""

from __future__ import annotations

import os
from typing import Any, Literal
from urllib.parse import urlparse

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_glm import ChatGLM
from langchain_glm.chat_models import DEFAULT_BASE_URL
from langchain_glm.testing import GLMServer

# bind_tools(tool_choice="any"/name) warns that GLM takes only "auto" (by design).
pytestmark = pytest.mark.filterwarnings("ignore::langchain_glm.GLMCompatibilityWarning")

Detail = Literal[
    "audio_input", "audio_output", "reasoning_output", "cache_read_input", "cache_creation_input"
]
_LIVE_BASE_URL = os.environ.get("ZAI_BASE_URL") or DEFAULT_BASE_URL
_LIVE_HOST = urlparse(_LIVE_BASE_URL).hostname or "open.bigmodel.cn"


def _aggregate(model: BaseChatModel, prompt: str, *, stream: bool) -> AIMessage:
    """Invoke, or stream and add the chunks up."""
    if not stream:
        result = model.invoke(prompt)
        assert isinstance(result, AIMessage)
        return result
    full: AIMessageChunk | None = None
    for chunk in model.stream(prompt):
        assert isinstance(chunk, AIMessageChunk)
        full = chunk if full is None else full + chunk
    assert full is not None
    return full


class _GLMSettings(ChatModelIntegrationTests):
    """Settings shared by the scripted and the live class."""

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatGLM

    @property
    def model_override_value(self) -> str | None:
        return "glm-4.5-air"

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def supports_image_urls(self) -> bool:
        return False

    @property
    def supports_pdf_inputs(self) -> bool:
        return False

    @property
    def supports_audio_inputs(self) -> bool:
        return False

    @property
    def supports_image_tool_message(self) -> bool:
        return False

    @property
    def supports_pdf_tool_message(self) -> bool:
        return False

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True

    @property
    def enable_vcr_tests(self) -> bool:
        return False

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        model = self.chat_model_class(**self.chat_model_params)
        return _aggregate(model, "Say hello. " * 300, stream=stream)


class TestChatGLMScripted(_GLMSettings):
    """The standard suite against a local GLM server (offline)."""

    server: GLMServer

    @pytest.fixture(autouse=True)
    def _use_server(self, glm_script_server: GLMServer) -> None:
        self.server = glm_script_server

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "glm-4.6",
            "base_url": self.server.base_url,
            "api_key": "test",
        }

    @property
    def supported_usage_metadata_details(self) -> dict[Literal["invoke", "stream"], list[Detail]]:
        details: list[Detail] = ["reasoning_output", "cache_read_input"]
        return {"invoke": details, "stream": details}

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        model = self.chat_model_class(**self.chat_model_params, thinking=True)
        return _aggregate(model, "Think about it, then say hello.", stream=stream)


@pytest.mark.live
@pytest.mark.allow_hosts(["127.0.0.1", _LIVE_HOST])
@pytest.mark.skipif(not os.environ.get("ZAI_API_KEY"), reason="ZAI_API_KEY is not set")
class TestChatGLMLive(_GLMSettings):
    """The standard suite against the real GLM API (needs ZAI_API_KEY; costs tokens)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "glm-4.6", "thinking": False, "max_tokens": 1024, "timeout": 120}

    @property
    def supported_usage_metadata_details(self) -> dict[Literal["invoke", "stream"], list[Detail]]:
        return {"invoke": ["cache_read_input"], "stream": ["cache_read_input"]}
