"""The public surface is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import langchain_glm

EXPECTED_ALL = {
    "ChatGLM",
    "GLMAPIError",
    "GLMAuthenticationError",
    "GLMCompatibilityWarning",
    "GLMConnectionError",
    "GLMContentFilterError",
    "GLMContextOverflowError",
    "GLMError",
    "GLMInvalidRequestError",
    "GLMNotFoundError",
    "GLMPermissionDeniedError",
    "GLMQuotaExceededError",
    "GLMRateLimitError",
    "GLMTimeoutError",
    "MessageConversionError",
    "__version__",
    "mcp_tool",
    "retrieval_tool",
    "web_search_results",
    "web_search_tool",
}


def test_all_is_pinned() -> None:
    assert set(langchain_glm.__all__) == EXPECTED_ALL
    assert all(hasattr(langchain_glm, name) for name in langchain_glm.__all__)


def test_version_matches_distribution() -> None:
    # The distribution takes its version from _version.py (hatch dynamic version).
    assert version("langchain-glm") == langchain_glm.__version__


def test_py_typed_is_shipped() -> None:
    assert (Path(langchain_glm.__file__).parent / "py.typed").exists()
