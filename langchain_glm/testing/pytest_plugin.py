"""pytest plugin (entry point ``pytest11``): the ``glm_server`` fixture; imports nothing heavy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from langchain_glm.testing._server import GLMServer


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``glm_server`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers", "glm_server(**options): GLMServer options (api_key=, models=, validate=)"
    )


@pytest.fixture
def glm_server(request: pytest.FixtureRequest) -> Iterator[GLMServer]:
    """A fresh GLM test server on 127.0.0.1 for one test (``@pytest.mark.glm_server(...)``)."""
    from langchain_glm.testing._server import GLMServer

    marker = request.node.get_closest_marker("glm_server")
    with GLMServer(**(marker.kwargs if marker else {})) as server:
        yield server
