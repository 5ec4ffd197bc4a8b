"""One readable line for every failure the chat can meet: GLM's code, then what to do.

Errors are told apart by the `langchain_glm` error class and its GLM business ``code``
(see https://docs.z.ai/api-reference/api-code for the codes). The line never contains the
API key: messages come from `GLMError`, which the client has already redacted.
"""

from __future__ import annotations

from langchain_glm._errors import (
    GLMAuthenticationError,
    GLMConnectionError,
    GLMContextOverflowError,
    GLMError,
    GLMNotFoundError,
    GLMQuotaExceededError,
    GLMRateLimitError,
    GLMTimeoutError,
)

INSTALL_HINT = (
    'glm-chat needs the "cli" extra: pip install "langchain-glm[cli]" '
    '(from a checkout of this repository: pip install -e ".[cli]")'
)
"""The one line printed when `rich` is missing."""

_AUTH_CODES = frozenset({"1000", "1001", "1002", "1003", "1004"})


def error_line(error: BaseException, *, base_url: str, retries: int, interactive: bool) -> str:
    """Describe a failed turn in one line.

    Args:
        error: What the turn raised.
        base_url: The API base the chat talks to (named in connection errors).
        retries: How many times the client retries retryable failures.
        interactive: Whether chat commands such as ``/reset`` can be suggested.

    Returns:
        The line, starting with ``error:``.

    Example:
        ```python
        from langchain_glm import GLMQuotaExceededError
        from langchain_glm.cli._messages import error_line

        err = GLMQuotaExceededError("Insufficient balance", status_code=429, code="1113")
        line = error_line(err, base_url="https://x", retries=2, interactive=False)
        assert line.startswith("error: GLM 1113 (HTTP 429): insufficient balance: top up")
        ```
    """
    if not isinstance(error, GLMError):
        return f"error: {type(error).__name__}: {' '.join(str(error).split())}"
    where = _where(error)
    return f"error: {where}{_advice(error, base_url, retries, interactive)}"


def _where(error: GLMError) -> str:
    """``GLM 1113 (HTTP 429): `` or a shorter prefix when code or status are unknown."""
    code = f"GLM {error.code}" if error.code else "GLM"
    status = f" (HTTP {error.status_code})" if error.status_code is not None else ""
    return f"{code}{status}: "


def _advice(error: GLMError, base_url: str, retries: int, interactive: bool) -> str:
    """What happened and what to do, by error class and business code."""
    if isinstance(error, GLMAuthenticationError) or error.code in _AUTH_CODES:
        return (
            "the API key was refused: check ZAI_API_KEY (or ZHIPUAI_API_KEY), and that "
            "--base-url is the endpoint the key belongs to"
        )
    if error.code == "1113":
        return (
            "insufficient balance: top up your balance or use the matching endpoint "
            "(Coding Plan keys need the coding base URL)"
        )
    if isinstance(error, GLMQuotaExceededError):
        return f"quota used up ({error.message}): wait for it to renew or raise your plan"
    if isinstance(error, GLMRateLimitError):
        return f"rate limited / overloaded, retried {retries} times; try again later"
    if isinstance(error, GLMContextOverflowError):
        fix = "/reset to start a new conversation" if interactive else "ask a shorter question"
        return f"context too long: {fix}"
    if isinstance(error, GLMTimeoutError):
        return f"{base_url} did not answer in time; try again, or check --base-url"
    if isinstance(error, GLMConnectionError):
        return f"cannot reach {base_url} ({error.message}); check the network or --base-url"
    if isinstance(error, GLMNotFoundError):
        fix = "/model NAME" if interactive else "--model NAME"
        return f"{error.message}: choose another model with {fix}"
    return " ".join(error.message.split())
