"""What the Z.ai APIs beside chat share: connection settings, the client, error wording, fan-out.

The connection fields (key, base URL, timeout, retries, headers, JWT, httpx clients) are defined
here once, with their env vars, defaults and checks; `ChatGLM` and `GLMAPISettings` both declare
them from these definitions, and both build the same `GLMClient` (its error table, retries and
shared pools).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Annotated, Any, TypeVar
from urllib.parse import urlparse

import httpx
from langchain_core.load.serializable import Serializable
from langchain_core.utils import from_env, secret_from_env
from pydantic import AfterValidator, ConfigDict, Field, PrivateAttr, SecretStr

from langchain_glm._auth import check_api_key, check_base_url
from langchain_glm._client import DEFAULT_TIMEOUT, Check, GLMClient, client_for
from langchain_glm._errors import GLMError, GLMNotFoundError
from langchain_glm._region import other_region_hint

_T = TypeVar("_T")
Part = tuple[str, dict[str, Any], Check]
"""One request of a fanned-out call: (what it covers, for errors; body; reply check)."""
BIGMODEL_BASE_URL = "https://open.bigmodel.cn/api/paas/v4"
"""The China-mainland base, where GLM documents embeddings and rerank."""
DEFAULT_BASE_URL = BIGMODEL_BASE_URL
"""China-mainland (BigModel) pay-as-you-go endpoint, the default of every API here."""
KEY_ENVS = ("ZAI_API_KEY", "ZHIPUAI_API_KEY")
"""Where the API key is read from, in this order."""


def _sendable_key(value: SecretStr | None) -> SecretStr | None:
    """Reject a key that cannot be sent as a header (without showing it)."""
    if value is not None:
        check_api_key(value.get_secret_value())
    return value


def _absolute_url(value: str) -> str:
    """Reject a `base_url` that is not an absolute http(s) URL."""
    check_base_url(value)
    return value


# The connection fields of `ChatGLM` and `GLMAPISettings`, defined once: each class declares
# `name: TYPE = FIELD` (so `ChatGLM` keeps its field order) and documents it there.
APIKey = Annotated[SecretStr | None, AfterValidator(_sendable_key)]
BaseURL = Annotated[str, AfterValidator(_absolute_url)]
Timeout = float | httpx.Timeout | None
API_KEY: Any = Field(default_factory=secret_from_env(list(KEY_ENVS), default=None))
BASE_URL: Any = Field(
    default_factory=from_env(["ZAI_BASE_URL", "ZHIPUAI_BASE_URL"], default=DEFAULT_BASE_URL)
)
TIMEOUT: Any = Field(default=DEFAULT_TIMEOUT, alias="request_timeout")
MAX_RETRIES: Any = Field(default=2, ge=0)
HTTP_CLIENT: Any = Field(default=None, exclude=True)
"""Field info of `http_client` and `http_async_client`: never serialized."""


def key_env(key: SecretStr | None) -> str | None:
    """The environment variable (`ZAI_API_KEY`, then `ZHIPUAI_API_KEY`) holding this key."""
    if key is None:
        return None
    value = key.get_secret_value()
    return next((name for name in KEY_ENVS if os.environ.get(name) == value), None)


def pickled(model: Any, **private: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """`__reduce__` for a model with the connection fields: settings only, never a key from env.

    A key read from `ZAI_API_KEY` or `ZHIPUAI_API_KEY` is stored as that variable's name and
    read again on load; a key passed in code travels as any attribute would. The client tuple
    and locks are left out (rebuilt on first use); ``private`` names the private attributes to
    keep. Loading rebuilds the model with pydantic's public `model_construct`.

    Args:
        model: The `ChatGLM` or `GLMAPISettings` being pickled.
        **private: Private attributes to restore after loading.

    Returns:
        The callable and arguments that rebuild ``model``.

    Raises:
        TypeError: The model holds its own httpx client (sockets and locks).
    """
    if model.http_client is not None or model.http_async_client is not None:
        msg = (
            f"A {type(model).__name__} with its own http_client / http_async_client cannot be "
            "pickled (httpx clients hold sockets and locks); build that client in the process "
            "that uses the model."
        )
        raise TypeError(msg)
    values = {name: getattr(model, name) for name in type(model).model_fields}
    env = key_env(model.api_key)
    if env is not None:
        values["api_key"] = None
    return _unpickled, (type(model), values, set(model.model_fields_set), env, private)


def _unpickled(
    cls: type[Any], values: dict[str, Any], fields_set: set[str], env: str | None, private: Any
) -> Any:
    """A pickled model again, its key read from ``env`` when it came from there."""
    if env is not None:
        values = {**values, "api_key": secret_from_env(env, default=None)()}
    model = cls.model_construct(fields_set, **values)
    for name, value in private.items():
        setattr(model, name, value)
    return model


def reworded(error: GLMError, message: str) -> GLMError:
    """The same error (class, status, code, request id, retry advice) with a new message."""
    return type(error)(
        message,
        status_code=error.status_code,
        code=error.code,
        request_id=error.request_id,
        retry_after=error.retry_after,
        retryable=error.is_retryable,
    )


@contextlib.contextmanager
def failing_part(what: str) -> Iterator[None]:
    """Name the part of a call that failed (e.g. ``"inputs 64-127 of 300"``) in its error."""
    try:
        yield
    except GLMError as error:
        raise reworded(error, f"{what}: {error.message}") from error


async def bounded(jobs: Sequence[Callable[[], Awaitable[_T]]], limit: int) -> list[_T]:
    """Run ``jobs`` with at most ``limit`` in flight; results in job order.

    The first failure cancels the jobs still running and is raised as it is.
    """
    results: list[_T] = []
    slots = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[_T]]) -> _T:
        async with slots:
            return await job()

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(run(job)) for job in jobs]
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
    results.extend(task.result() for task in tasks)
    return results


class GLMAPISettings(Serializable):
    """Connection settings shared with `ChatGLM`, and the client built from them."""

    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, hide_input_in_errors=True
    )

    api_key: APIKey = API_KEY
    """API key, from `ZAI_API_KEY`, else `ZHIPUAI_API_KEY`; a call without one raises
    `GLMAuthenticationError` before sending. Never in a repr, log, error or `dumpd`."""

    base_url: BaseURL = BASE_URL
    """API base, from `ZAI_BASE_URL`, else `ZHIPUAI_BASE_URL`, else
    `https://open.bigmodel.cn/api/paas/v4` (GLM documents embeddings and rerank there only)."""

    timeout: Timeout = TIMEOUT
    """Time budget of each request in seconds, as for `ChatGLM.timeout`."""

    max_retries: int = MAX_RETRIES
    """Retries of failures before GLM could answer (connect errors, 429, 5xx), as for
    `ChatGLM.max_retries`; a malformed reply is never re-sent (it may have been billed)."""

    default_headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""

    jwt_auth: bool = False
    """Sign each attempt with a short-lived JWT made from an `id.secret` key."""

    http_client: httpx.Client | None = HTTP_CLIENT
    """An `httpx.Client` to use as given; by default one pool is shared per process."""

    http_async_client: httpx.AsyncClient | None = HTTP_CLIENT
    """An `httpx.AsyncClient` to use as given; by default one pool per event loop."""

    _glm: tuple[tuple[Any, ...], GLMClient] | None = PrivateAttr(default=None)

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Constructor fields that hold secrets, and the env var each comes from.

        The variable that holds this key (`ZAI_API_KEY`, or `ZHIPUAI_API_KEY` when only that
        one does), so `load(..., secrets_from_env=True)` finds it; else `ZAI_API_KEY`.
        """
        return {"api_key": key_env(self.api_key) or KEY_ENVS[0]}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serializable with `langchain_core.load.dumpd`, the key as an env reference."""
        return True

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """Pickle the settings, never a key read from the environment (see `pickled`)."""
        return pickled(self)

    def _client(self) -> GLMClient:
        """This object's `GLMClient`, built once per configuration (pools are shared)."""
        self._glm = client_for(self, self._glm)
        return self._glm[1]

    @contextlib.contextmanager
    def _region(self, path: str) -> Iterator[None]:
        """Say where the endpoint is served when a z.ai base answers 404 for it."""
        try:
            yield
        except GLMNotFoundError as error:
            if not (urlparse(self.base_url).hostname or "").endswith("z.ai"):
                other = other_region_hint(self.base_url)
                if other is None:
                    raise
                raise reworded(error, f"{error.message} (/{path} {other})") from error
            hint = (
                f"{error.message} (/{path} may be served only on {BIGMODEL_BASE_URL}: "
                f"pass base_url={BIGMODEL_BASE_URL!r} or set ZAI_BASE_URL)"
            )
            raise reworded(error, hint) from error

    def _post(self, path: str, payload: dict[str, Any], check: Check) -> Any:
        """POST ``payload`` to ``{base_url}/{path}`` with ChatGLM's retries and errors."""
        with self._region(path):
            return self._client().request("POST", path, payload, check=check)

    async def _apost(self, path: str, payload: dict[str, Any], check: Check) -> Any:
        """Async twin of `_post`."""
        with self._region(path):
            return await self._client().arequest("POST", path, payload, check=check)

    def _post_parts(self, path: str, parts: Sequence[Part]) -> list[Any]:
        """POST each part in order; a failure is raised naming the part it covers."""
        replies = []
        for what, body, check in parts:
            with failing_part(what):
                replies.append(self._post(path, body, check))
        return replies

    async def _apost_parts(self, path: str, parts: Sequence[Part], limit: int) -> list[Any]:
        """Async twin of `_post_parts`, with at most ``limit`` requests in flight."""

        async def send(what: str, body: dict[str, Any], check: Check) -> Any:
            with failing_part(what):
                return await self._apost(path, body, check)

        return await bounded([functools.partial(send, *part) for part in parts], limit)
