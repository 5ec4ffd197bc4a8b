"""LangChain's standard unit tests for the web tools (construction and schemas; no I/O)."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ToolsUnitTests

from langchain_glm import GLMWebReader, GLMWebSearch

_ENV = {"ZAI_API_KEY": "key-from-env-0123", "ZAI_BASE_URL": "https://api.z.ai/api/paas/v4"}
_EXPECTED = {"api_key": "key-from-env-0123", "base_url": _ENV["ZAI_BASE_URL"]}


class TestGLMWebSearchUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return GLMWebSearch

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"count": 3, "search_recency_filter": "oneWeek"}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "GLM-5.4 release", "count": 2}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return _ENV, {}, _EXPECTED


class TestGLMWebReaderUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return GLMWebReader

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"max_chars": 2000}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"url": "https://docs.z.ai/guides/llm/glm-5.4"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return _ENV, {}, _EXPECTED
