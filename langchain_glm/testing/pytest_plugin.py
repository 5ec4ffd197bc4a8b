"""pytest plugin (entry point ``pytest11``): the ``glm_server`` fixture.

Loaded into every pytest run of a project that installs langchain-glm, so it imports nothing
heavy and starts nothing until a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from langchain_glm.testing._server import GLMServer


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``glm_server`` marker (so ``--strict-markers`` accepts it).

    Args:
        config: The pytest configuration.
    """
    config.addinivalue_line(
        "markers",
        "glm_server(**options): keyword arguments for the GLMServer of the glm_server fixture "
        "(api_key=, models=, validate=)",
    )


@pytest.fixture
def glm_server(request: pytest.FixtureRequest) -> Iterator[GLMServer]:
    """A fresh GLM test server on 127.0.0.1 for one test, stopped afterwards.

    Each test gets its own server (starting one takes about a millisecond), so queued
    replies, scripts and recorded requests never leak between tests. Configure it with
    ``@pytest.mark.glm_server(api_key="secret", models=[...], validate=False)``.

    Args:
        request: The pytest fixture request (read for the ``glm_server`` marker).

    Yields:
        The running server.
    """
    from langchain_glm.testing._server import GLMServer

    marker = request.node.get_closest_marker("glm_server")
    options = dict(marker.kwargs) if marker else {}
    with GLMServer(**options) as server:
        yield server
