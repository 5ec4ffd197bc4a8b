"""LangChain integration for Zhipu / Z.ai GLM: chat models, embeddings and rerank.

Names are imported on first use: the package's pytest plugin (`langchain_glm.testing`)
is loaded into every pytest run of every project that installs us, and must not pay
for importing langchain-core there.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from langchain_glm._version import __version__

if TYPE_CHECKING:
    from langchain_glm._errors import (
        GLMAPIError,
        GLMAuthenticationError,
        GLMConnectionError,
        GLMContentFilterError,
        GLMContextOverflowError,
        GLMError,
        GLMInvalidRequestError,
        GLMNotFoundError,
        GLMPermissionDeniedError,
        GLMQuotaExceededError,
        GLMRateLimitError,
        GLMTimeoutError,
    )
    from langchain_glm._request import GLMCompatibilityWarning, MessageConversionError
    from langchain_glm.batch import (
        BatchFailedError,
        BatchItemMissingError,
        BatchJob,
        BatchTimeoutError,
    )
    from langchain_glm.chat_models import ChatGLM
    from langchain_glm.document_loaders import GLMLayoutLoader
    from langchain_glm.embeddings import GLMEmbeddings
    from langchain_glm.rerank import GLMRerank
    from langchain_glm.retrievers import GLMSearchRetriever
    from langchain_glm.tools import mcp_tool, retrieval_tool, web_search_results, web_search_tool
    from langchain_glm.web import GLMWebReader, GLMWebSearch

__all__ = [
    "BatchFailedError",
    "BatchItemMissingError",
    "BatchJob",
    "BatchTimeoutError",
    "ChatGLM",
    "GLMAPIError",
    "GLMAuthenticationError",
    "GLMCompatibilityWarning",
    "GLMConnectionError",
    "GLMContentFilterError",
    "GLMContextOverflowError",
    "GLMEmbeddings",
    "GLMError",
    "GLMInvalidRequestError",
    "GLMLayoutLoader",
    "GLMNotFoundError",
    "GLMPermissionDeniedError",
    "GLMQuotaExceededError",
    "GLMRateLimitError",
    "GLMRerank",
    "GLMSearchRetriever",
    "GLMTimeoutError",
    "GLMWebReader",
    "GLMWebSearch",
    "MessageConversionError",
    "__version__",
    "mcp_tool",
    "retrieval_tool",
    "web_search_results",
    "web_search_tool",
]

_HOMES = {
    "BatchFailedError": "langchain_glm.batch",
    "BatchItemMissingError": "langchain_glm.batch",
    "BatchJob": "langchain_glm.batch",
    "BatchTimeoutError": "langchain_glm.batch",
    "ChatGLM": "langchain_glm.chat_models",
    "GLMCompatibilityWarning": "langchain_glm._request",
    "GLMLayoutLoader": "langchain_glm.document_loaders",
    "GLMSearchRetriever": "langchain_glm.retrievers",
    "GLMWebReader": "langchain_glm.web",
    "GLMWebSearch": "langchain_glm.web",
    "GLMEmbeddings": "langchain_glm.embeddings",
    "GLMRerank": "langchain_glm.rerank",
    "MessageConversionError": "langchain_glm._request",
    "mcp_tool": "langchain_glm.tools",
    "retrieval_tool": "langchain_glm.tools",
    "web_search_results": "langchain_glm.tools",
    "web_search_tool": "langchain_glm.tools",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use.

    Args:
        name: The attribute asked for.

    Returns:
        The public object.

    Raises:
        AttributeError: If `name` is not public here.
    """
    if name not in __all__:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(_HOMES.get(name, "langchain_glm._errors")), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names.

    Returns:
        `__all__`.
    """
    return list(__all__)
