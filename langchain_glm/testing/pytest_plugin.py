"""Opt-in pytest plugin: the ``glm_server`` fixture and marker.

Nothing registers it for you (no ``pytest11`` entry point, so installing langchain-glm never
changes another project's pytest run). Enable it in your top-level ``conftest.py``::

    pytest_plugins = ["langchain_glm.testing.pytest_plugin"]

Then ``def test_x(glm_server): ...`` gets a fresh `GLMServer` on 127.0.0.1 per test, configured
with ``@pytest.mark.glm_server(api_key=..., models=[...], validate=False)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from langchain_glm.testing._server import GLMServer


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``glm_server(api_key=, models=, validate=)`` marker (``--strict-markers``)."""
    config.addinivalue_line("markers", "glm_server(**options): GLMServer options")


@pytest.fixture
def glm_server(request: pytest.FixtureRequest) -> Iterator[GLMServer]:
    """A fresh GLM test server on 127.0.0.1 for one test (``@pytest.mark.glm_server(...)``)."""
    options = getattr(request.node.get_closest_marker("glm_server"), "kwargs", {})
    with GLMServer(**options) as server:
        yield server
