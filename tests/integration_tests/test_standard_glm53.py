"""LangChain's standard integration tests for ChatGLM on a GLM-5.3 configuration.

A second configuration beside `test_standard.py` (glm-4.6): GLM-5.3 always thinks,
takes `reasoning_effort` and up to four stop words. `TestChatGLM53Scripted` runs
offline against its own local GLMServer (every model of the capability table, the
request-aware `auto_reply` script); `TestChatGLM53Live` runs against the real API and is
skipped unless `ZAI_API_KEY` is set. Kept independent of `test_standard.py` on purpose.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlparse

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_glm import ChatGLM
from langchain_glm._models import MODELS
from langchain_glm.chat_models import DEFAULT_BASE_URL
from langchain_glm.testing import GLMServer, auto_reply

# bind_tools(tool_choice="any"/name) warns that GLM takes only "auto" (by design).
pytestmark = pytest.mark.filterwarnings("ignore::langchain_glm.GLMCompatibilityWarning")

Detail = Literal[
    "audio_input", "audio_output", "reasoning_output", "cache_read_input", "cache_creation_input"
]
_LIVE_BASE_URL = os.environ.get("ZAI_BASE_URL") or DEFAULT_BASE_URL
_LIVE_HOST = urlparse(_LIVE_BASE_URL).hostname or "open.bigmodel.cn"


@pytest.fixture(scope="module")
def glm53_server() -> Iterator[GLMServer]:
    """A GLMServer that knows every model of the table, answering with `auto_reply`."""
    with GLMServer(models=list(MODELS)) as server:
        server.script(auto_reply)
        yield server
        assert not server.script_errors, server.script_errors


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


class _GLM53Settings(ChatModelIntegrationTests):
    """Settings shared by the scripted and the live class (text model: no media tests)."""

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatGLM

    # Plain class attributes override the suite's read-only flags.
    model_override_value = "glm-5.2"
    supports_json_mode = True
    supports_anthropic_inputs = True
    # Media tests download assets from the internet, and glm-5.3 is a text model.
    supports_image_inputs = supports_image_urls = supports_pdf_inputs = False
    supports_audio_inputs = supports_image_tool_message = supports_pdf_tool_message = False
    enable_vcr_tests = False

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        model = self.chat_model_class(**self.chat_model_params)
        return _aggregate(model, "Say hello. " * 300, stream=stream)

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        model = self.chat_model_class(**self.chat_model_params)
        return _aggregate(model, "Think about it, then say hello.", stream=stream)


class TestChatGLM53Scripted(_GLM53Settings):
    """The standard suite on glm-5.3 against a local GLM server (offline)."""

    server: GLMServer

    @pytest.fixture(autouse=True)
    def _use_server(self, glm53_server: GLMServer) -> None:
        self.server = glm53_server

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "glm-5.3",
            "reasoning_effort": "low",
            "base_url": self.server.base_url,
            "api_key": "test",
        }

    @property
    def supported_usage_metadata_details(self) -> dict[Literal["invoke", "stream"], list[Detail]]:
        details: list[Detail] = ["reasoning_output", "cache_read_input"]
        return {"invoke": details, "stream": details}


@pytest.mark.live
@pytest.mark.allow_hosts(["127.0.0.1", _LIVE_HOST])
@pytest.mark.skipif(not os.environ.get("ZAI_API_KEY"), reason="ZAI_API_KEY is not set")
class TestChatGLM53Live(_GLM53Settings):
    """The standard suite on glm-5.3 against the real GLM API (needs ZAI_API_KEY; costs tokens)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "glm-5.3", "reasoning_effort": "low", "max_tokens": 2048, "timeout": 120}

    @property
    def supported_usage_metadata_details(self) -> dict[Literal["invoke", "stream"], list[Detail]]:
        return {"invoke": ["reasoning_output", "cache_read_input"], "stream": ["cache_read_input"]}
