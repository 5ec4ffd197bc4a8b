"""LangChain integration for Zhipu / Z.ai GLM chat models."""

from langchain_glm._convert import GLMCompatibilityWarning, MessageConversionError
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
from langchain_glm._version import __version__
from langchain_glm.chat_models import ChatGLM

__all__ = [
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
]
