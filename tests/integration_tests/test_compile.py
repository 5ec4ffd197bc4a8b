"""Checks that the integration test modules import and are wired as expected."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests


@pytest.mark.compile
def test_integration_tests_import() -> None:
    from langchain_tests.integration_tests import EmbeddingsIntegrationTests

    from langchain_glm.testing import auto_reply
    from tests.integration_tests import test_standard, test_standard_embeddings

    assert issubclass(test_standard.TestChatGLMScripted, ChatModelIntegrationTests)
    assert issubclass(test_standard.TestChatGLMLive, ChatModelIntegrationTests)
    assert callable(auto_reply)
    assert issubclass(test_standard_embeddings.TestGLMEmbeddingsLive, EmbeddingsIntegrationTests)
