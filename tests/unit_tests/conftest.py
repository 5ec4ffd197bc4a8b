"""Unit tests run with every network socket disabled (unix sockets stay, for event loops)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every unit test `disable_socket`, so a stray real request fails loudly."""
    for item in items:
        if "unit_tests" in item.path.parts:
            item.add_marker(pytest.mark.disable_socket)
