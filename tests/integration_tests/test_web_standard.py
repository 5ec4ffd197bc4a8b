"""LangChain's standard integration tests for the web tools and the search retriever.

They run offline in `make test`, over real HTTP against the session's local GLM server
(`glm_script_server`), which serves GLM's web search and reader with its default corpus
and pages; the settings come from the environment, as for a user.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import RetrieversIntegrationTests, ToolsIntegrationTests

from langchain_glm import GLMSearchRetriever, GLMWebReader, GLMWebSearch
from langchain_glm.testing import GLMServer


@pytest.fixture(autouse=True)
def _local_glm(glm_script_server: GLMServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ZAI_BASE_URL", glm_script_server.base_url)
    monkeypatch.setenv("ZAI_API_KEY", "offline-key")
    before = len(glm_script_server.requests)
    yield
    paths = {r.path for r in glm_script_server.requests[before:]}
    assert paths <= {"/api/paas/v4/web_search", "/api/paas/v4/reader"}


class TestGLMWebSearchIntegration(ToolsIntegrationTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return GLMWebSearch

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"count": 3}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "GLM-5.4 release", "search_recency_filter": "oneMonth"}


class TestGLMWebReaderIntegration(ToolsIntegrationTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return GLMWebReader

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"max_chars": 5000}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"url": "https://docs.z.ai/guides/llm/glm-5.4"}


class TestGLMSearchRetrieverIntegration(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return GLMSearchRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"k": 5}

    @property
    def retriever_query_example(self) -> str:
        return "GLM-5.4 release"
