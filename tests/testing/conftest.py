"""Fixtures for the GLM test-server tests: the plugin itself and a sync/async switch."""

from __future__ import annotations

import pytest

from langchain_glm.testing import pytest_plugin


def pytest_configure(config: pytest.Config) -> None:
    """Load our pytest plugin when the package is not installed (no entry point yet)."""
    if not config.pluginmanager.is_registered(pytest_plugin):
        config.pluginmanager.register(pytest_plugin, "langchain_glm")


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Run a test once with `httpx.Client` and once with `httpx.AsyncClient`."""
    return str(request.param)
