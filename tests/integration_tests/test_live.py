"""GLM-specific checks against the real API; skipped (with the reason) unless ZAI_API_KEY is set."""

from __future__ import annotations

import os
from functools import reduce
from urllib.parse import urlparse

import pytest
from langchain_core.messages import AIMessageChunk

from langchain_glm import ChatGLM, GLMNotFoundError
from langchain_glm.chat_models import DEFAULT_BASE_URL

_HOST = urlparse(os.environ.get("ZAI_BASE_URL") or DEFAULT_BASE_URL).hostname or ""

pytestmark = [
    pytest.mark.live,
    pytest.mark.allow_hosts(["127.0.0.1", _HOST]),
    pytest.mark.skipif(not os.environ.get("ZAI_API_KEY"), reason="ZAI_API_KEY is not set"),
]


def test_thinking_on_returns_reasoning_and_usage() -> None:
    llm = ChatGLM(model="glm-4.6", thinking=True, max_tokens=2048)
    message = llm.invoke("Is 221 a prime number? Answer yes or no.")
    assert message.additional_kwargs.get("reasoning_content")
    assert message.text
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] > 0
    assert [b["type"] for b in message.content_blocks][:1] == ["reasoning"]


def test_thinking_off_streams_text_only() -> None:
    llm = ChatGLM(model="glm-4.6", thinking=False, max_tokens=200)
    chunks = list(llm.stream("Say hello in French, one word."))
    full = reduce(lambda a, b: a + b, chunks)
    assert isinstance(full, AIMessageChunk)
    assert full.text
    assert not full.additional_kwargs.get("reasoning_content")
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert full.response_metadata["finish_reason"] == "stop"


def test_unknown_model_is_not_found() -> None:
    with pytest.raises(GLMNotFoundError) as info:
        ChatGLM(model="glm-does-not-exist", max_retries=0).invoke("hi")
    assert info.value.code == "1211"
