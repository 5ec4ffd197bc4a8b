"""`GLMAPISettings`: the connection settings of GLM's APIs beside chat (web, reader, OCR).

The same settings as `ChatGLM` (key, base, timeout, retries, headers, httpx clients, JWT),
sent through the same `GLMClient`: its error table, retries, time budget, key redaction
and shared connection pools.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any, cast

import httpx
from langchain_core.utils import from_env, secret_from_env
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from langchain_glm._auth import check_api_key, check_base_url
from langchain_glm._client import Cached, GLMClient, client_for
from langchain_glm._errors import GLMNotFoundError
from langchain_glm._region import other_region_hint

DEFAULT_BASE_URL = "https://open.bigmodel.cn/api/paas/v4"
"""The default API base, as for `ChatGLM`: China mainland (BigModel) pay-as-you-go."""


@contextlib.contextmanager
def _name_other_region(base_url: str) -> Iterator[None]:
    """Add the other platform's base to a 404 from a standard base (the endpoint may live there)."""
    try:
        yield
    except GLMNotFoundError as error:
        hint = other_region_hint(base_url)
        if hint is None:
            raise
        raise GLMNotFoundError(
            f"{error.message} ({hint})",
            status_code=error.status_code,
            code=error.code,
            request_id=error.request_id,
        ) from error


def _checked_key(value: SecretStr | None) -> SecretStr | None:
    """Reject a key that cannot be sent as a header (without showing it)."""
    if value is not None:
        check_api_key(value.get_secret_value())
    return value


class GLMAPISettings(BaseModel):
    """Connection settings of GLM's web search, reader and layout-parsing classes.

    The same as `ChatGLM`'s, read from the same environment variables.
    """

    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, hide_input_in_errors=True
    )

    api_key: Annotated[SecretStr | None, AfterValidator(_checked_key)] = Field(
        default_factory=secret_from_env(["ZAI_API_KEY", "ZHIPUAI_API_KEY"], default=None),
        repr=False,
    )
    """API key, from `ZAI_API_KEY`, else `ZHIPUAI_API_KEY`. A call without one raises
    `GLMAuthenticationError` before sending. It never appears in a repr, log or error."""

    base_url: Annotated[str, AfterValidator(check_base_url)] = Field(
        default_factory=from_env(["ZAI_BASE_URL", "ZHIPUAI_BASE_URL"], default=DEFAULT_BASE_URL)
    )
    """API base, from `ZAI_BASE_URL`, else `ZHIPUAI_BASE_URL`, else
    `https://open.bigmodel.cn/api/paas/v4`; `https://api.z.ai/api/paas/v4` is the
    international platform. The platform decides which search engines are taken."""

    timeout: float | httpx.Timeout | None = Field(default=60.0, alias="request_timeout")
    """Time budget of each attempt, in seconds, as for `ChatGLM` (connecting may take
    `min(timeout, 10)` s); `None` waits forever. Running out raises `GLMTimeoutError`."""

    max_retries: int = Field(default=2, ge=0)
    """Retries of failures before GLM answered (connect errors, 429 rate limits, 5xx),
    honouring `Retry-After`, as for `ChatGLM`."""

    default_headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""

    jwt_auth: bool = False
    """Sign each attempt with a short-lived JWT made from an `id.secret` key."""

    http_client: httpx.Client | None = Field(default=None, exclude=True, repr=False)
    """An `httpx.Client` to use as given; by default one pool is shared per process."""

    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True, repr=False)
    """An `httpx.AsyncClient` to use as given; by default one pool per event loop."""

    _glm: Cached | None = PrivateAttr(default=None)

    def _glm_client(self) -> GLMClient:
        """The `GLMClient` of these settings, built once per configuration."""
        cached = self._glm
        fresh = self._glm = client_for(self, cached)
        return fresh[1]

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON body to `{base_url}/{path}` with retries; return the JSON object.

        Raises:
            GLMError: The mapped error (a 404 on a standard base names the other platform).
        """
        with _name_other_region(self.base_url):
            return cast("dict[str, Any]", self._glm_client().request("POST", path, payload))

    async def _apost(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Async twin of `_post`."""
        with _name_other_region(self.base_url):
            reply = await self._glm_client().arequest("POST", path, payload)
            return cast("dict[str, Any]", reply)
