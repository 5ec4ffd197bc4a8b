"""Fixtures: a fresh hostile server per test, and a sync/async switch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.server import HostileServer


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    """A hostile raw-socket server on 127.0.0.1."""
    with HostileServer() as server:
        yield server


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    """Run a test through the sync and through the async path."""
    return str(request.param)
