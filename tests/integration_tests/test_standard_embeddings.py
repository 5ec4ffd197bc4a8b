"""LangChain's standard integration tests for GLMEmbeddings, offline and live; a live rerank check.

`TestGLMEmbeddingsScripted` runs in `make test` against the local GLM server (sync and async
tests alike); `TestGLMEmbeddingsLive` runs the same suite against the real API and is skipped
unless `ZAI_API_KEY` is set (embeddings are documented on https://open.bigmodel.cn only).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from langchain_glm import GLMEmbeddings, GLMRerank
from langchain_glm.testing import GLMServer

_LIVE_BASE_URL = os.environ.get("ZAI_BASE_URL") or "https://open.bigmodel.cn/api/paas/v4"


class TestGLMEmbeddingsScripted(EmbeddingsIntegrationTests):
    """The standard suite against a local GLM server (offline)."""

    server: GLMServer

    @pytest.fixture(autouse=True)
    def _use_server(self, glm_script_server: GLMServer) -> None:
        self.server = glm_script_server

    @property
    def embeddings_class(self) -> type[GLMEmbeddings]:
        return GLMEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"dimensions": 256, "base_url": self.server.base_url, "api_key": "test"}


@pytest.mark.live
@pytest.mark.allow_hosts(["127.0.0.1", urlparse(_LIVE_BASE_URL).hostname or "open.bigmodel.cn"])
@pytest.mark.skipif(not os.environ.get("ZAI_API_KEY"), reason="ZAI_API_KEY is not set")
class TestGLMEmbeddingsLive(EmbeddingsIntegrationTests):
    """The standard suite against the real GLM API (needs ZAI_API_KEY; costs tokens)."""

    @property
    def embeddings_class(self) -> type[GLMEmbeddings]:
        return GLMEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"dimensions": 256, "base_url": _LIVE_BASE_URL, "timeout": 60}


@pytest.mark.live
@pytest.mark.allow_hosts(["127.0.0.1", urlparse(_LIVE_BASE_URL).hostname or "open.bigmodel.cn"])
@pytest.mark.skipif(not os.environ.get("ZAI_API_KEY"), reason="ZAI_API_KEY is not set")
def test_live_rerank_puts_the_relevant_document_first() -> None:
    rerank = GLMRerank(base_url=_LIVE_BASE_URL, timeout=60)
    texts = ["Rome is the capital of Italy.", "GLM-5.3 is a reasoning model by Zhipu AI."]
    results = rerank.rerank(texts, "Which model is made by Zhipu?")
    assert [r["index"] for r in results] == [1, 0]
    assert results[0]["relevance_score"] > results[1]["relevance_score"]
