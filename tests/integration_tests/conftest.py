"""Fixtures for the standard integration tests: one GLM test server for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_glm.testing import GLMServer, auto_reply


@pytest.fixture(scope="session")
def glm_script_server() -> Iterator[GLMServer]:
    """A GLMServer on 127.0.0.1 answering every request with the request-aware script."""
    with GLMServer() as server:
        server.script(auto_reply)
        yield server
        assert not server.script_errors, server.script_errors
