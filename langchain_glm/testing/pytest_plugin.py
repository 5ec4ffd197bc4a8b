"""pytest plugin (entry point ``pytest11``): the ``glm_server`` fixture; imports nothing heavy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from langchain_glm.testing._server import GLMServer


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``glm_server(api_key=, models=, validate=)`` marker (``--strict-markers``)."""
    config.addinivalue_line("markers", "glm_server(**options): GLMServer options")


@pytest.fixture
def glm_server(request: pytest.FixtureRequest) -> Iterator[GLMServer]:
    """A fresh GLM test server on 127.0.0.1 for one test (``@pytest.mark.glm_server(...)``)."""
    from langchain_glm.testing._server import GLMServer

    options = getattr(request.node.get_closest_marker("glm_server"), "kwargs", {})
    with GLMServer(**options) as server:
        yield server
