"""LangChain's standard unit tests for GLMEmbeddings (sockets disabled)."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import EmbeddingsUnitTests

from langchain_glm import GLMEmbeddings

STANDARD = {"model": "embedding-3", "dimensions": 1024, "api_key": "test"}


class TestGLMEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[GLMEmbeddings]:
        return GLMEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return STANDARD

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        env = {"ZAI_API_KEY": "env-key-123456", "ZAI_BASE_URL": "https://api.z.ai/api/paas/v4"}
        expected = {"api_key": "env-key-123456", "base_url": "https://api.z.ai/api/paas/v4"}
        return env, {"model": "embedding-2"}, expected
