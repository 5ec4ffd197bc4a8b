"""Checks that the integration test modules import and are wired as expected."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests


@pytest.mark.compile
def test_integration_tests_import() -> None:
    from tests.integration_tests import _script, test_standard

    assert issubclass(test_standard.TestChatGLMScripted, ChatModelIntegrationTests)
    assert issubclass(test_standard.TestChatGLMLive, ChatModelIntegrationTests)
    assert callable(_script.answer)
