"""LangChain integration for Zhipu / Z.ai GLM: chat models, embeddings, rerank and web tools.

Every public name is imported here, as langchain-openai and langchain-anthropic do. The
test fixtures are opt-in (`pytest_plugins = ["langchain_glm.testing.pytest_plugin"]`), so
installing the package adds nothing to other projects' pytest runs.
"""

from __future__ import annotations

from langchain_glm._errors import (
    BatchFailedError,
    BatchIntegrityError,
    BatchItemMissingError,
    BatchTimeoutError,
    GLMAPIError,
    GLMAuthenticationError,
    GLMBatchCleanupWarning,
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
from langchain_glm._version import __version__
from langchain_glm.batch import BatchJob
from langchain_glm.chat_models import ChatGLM
from langchain_glm.document_loaders import GLMLayoutLoader
from langchain_glm.embeddings import GLMEmbeddings
from langchain_glm.rerank import GLMRerank
from langchain_glm.retrievers import GLMSearchRetriever
from langchain_glm.tools import mcp_tool, retrieval_tool, web_search_results, web_search_tool
from langchain_glm.web import GLMWebReader, GLMWebSearch

__all__ = [
    "BatchFailedError",
    "BatchIntegrityError",
    "BatchItemMissingError",
    "BatchJob",
    "BatchTimeoutError",
    "ChatGLM",
    "GLMAPIError",
    "GLMAuthenticationError",
    "GLMBatchCleanupWarning",
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
