"""GLMClient: the only module that does network I/O (sync and async twins over httpx).

Every decision (headers, error mapping, retry delays, frame decoding) lives in shared helpers;
the twins `post`/`apost`, `stream`/`astream` and `_open`/`_aopen` differ only by async/await.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import json
import logging
import os
import time
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError

from langchain_glm._errors import (
    GLMAPIError,
    GLMAuthenticationError,
    GLMConnectionError,
    GLMError,
    error_from_payload,
    error_from_response,
    error_from_transport,
    excerpt,
)
from langchain_glm._jwt import cached_jwt
from langchain_glm._retry import RetryPolicy
from langchain_glm._version import __version__

_LOG = logging.getLogger("langchain_glm")
_CHAT = "chat/completions"
TOKENIZER = "tokenizer"
"""Path of GLM's token-counting endpoint (`POST {base}/tokenizer`, glm-api §1)."""
_NO_KEY = "no GLM API key: set ZAI_API_KEY (or ZHIPUAI_API_KEY) or pass api_key="
_TimeoutKey = tuple[float | None, float | None, float | None, float | None]
_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
"""Shared pools: httpx's default of 100 connections would queue the 101st concurrent stream
(measured with 200 concurrent `astream` calls); keep 100 idle connections for reuse."""
_LoopPools = tuple[dict[_TimeoutKey, httpx.AsyncClient], AsyncIterator[None]]
_async_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPools] = (
    weakref.WeakKeyDictionary()
)
"""Per event loop: its pools, and the parked generator that closes them with the loop."""


def _timeout_key(timeout: float | httpx.Timeout | None) -> _TimeoutKey:
    """Turn a timeout setting into a hashable (connect, read, write, pool) tuple."""
    t = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
    return (t.connect, t.read, t.write, t.pool)


def _make_timeout(key: _TimeoutKey) -> httpx.Timeout:
    """Rebuild an `httpx.Timeout` from its tuple."""
    return httpx.Timeout(connect=key[0], read=key[1], write=key[2], pool=key[3])


@functools.cache
def _shared_client(key: _TimeoutKey, pid: int) -> httpx.Client:
    """One sync connection pool per process (`pid` makes it fork safe) and timeout config."""
    client = httpx.Client(timeout=_make_timeout(key), limits=_LIMITS)
    atexit.register(client.close)
    return client


async def _close_pools_with_loop(
    pools: dict[_TimeoutKey, httpx.AsyncClient],
) -> AsyncIterator[None]:
    """Close a loop's pools when the loop shuts down.

    This async generator is started once per event loop and parked at its `yield`. Event
    loops track started async generators and close them on shutdown (`asyncio.run` and
    `asyncio.Runner` call `loop.shutdown_asyncgens()`), which runs the `finally` inside the
    still-running loop, so connections are closed cleanly instead of leaking sockets.
    """
    try:
        yield
    finally:
        clients = list(pools.values())
        pools.clear()
        for client in clients:
            await client.aclose()


def _start(closer: AsyncIterator[None]) -> None:
    """Run a fresh async generator up to its first `yield` (no awaits before it)."""
    step = closer.__anext__()
    with contextlib.suppress(StopIteration):
        step.send(None)  # type: ignore[attr-defined]


def _shared_async_client(key: _TimeoutKey) -> httpx.AsyncClient:
    """One async connection pool per running event loop and timeout config."""
    loop = asyncio.get_running_loop()
    entry = _async_pools.get(loop)
    if entry is None:
        for closed in [other for other in _async_pools if other.is_closed()]:
            del _async_pools[closed]
        pools: dict[_TimeoutKey, httpx.AsyncClient] = {}
        closer = _close_pools_with_loop(pools)
        _start(closer)
        entry = _async_pools[loop] = (pools, closer)
    pools = entry[0]
    if key not in pools:
        pools[key] = httpx.AsyncClient(timeout=_make_timeout(key), limits=_LIMITS)
    return pools[key]


@contextlib.contextmanager
def _stream_errors(response: httpx.Response) -> Iterator[None]:
    """Map failures while reading an open stream to GLM errors (shared by both twins)."""
    try:
        yield
    except SSEError as exc:  # subclasses httpx.TransportError, so it goes first
        raise GLMAPIError(str(exc), status_code=response.status_code) from exc
    except httpx.TransportError as exc:
        raise error_from_transport(exc) from exc


def decode_frame(event: str, data: str) -> dict[str, Any] | None:
    """Decode one SSE event into a chunk dict; None means `[DONE]` (stop reading).

    Args:
        event: The SSE event name ("message" when the frame has no `event:` line).
        data: The SSE data, normally one JSON object.

    Returns:
        The decoded frame, or None for the `[DONE]` sentinel.

    Raises:
        GLMError: Mapped from an `event: error` frame or a frame with a top-level `error`.
        GLMAPIError: If the frame is not a JSON object.
    """
    if data.strip() == "[DONE]":
        return None
    return _json_object(data, "malformed stream frame", is_error=event == "error")


def _parse_body(response: httpx.Response, body: bytes) -> dict[str, Any]:
    """Decode a successful non-stream body, raising for non-JSON or an embedded error."""
    return _json_object(body, "response body is not a JSON object", status=response.status_code)


def _json_object(
    raw: str | bytes, problem: str, *, status: int | None = None, is_error: bool = False
) -> dict[str, Any]:
    """Decode a JSON object; raise `GLMAPIError` if it is not one, the mapped error if it is one.

    Args:
        raw: A stream frame's data or a response body.
        problem: Start of the message when `raw` is not a JSON object.
        status: HTTP status, if there is one.
        is_error: The frame was announced as an error (`event: error`).
    """
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        msg = f"{problem}: {excerpt(raw)}"
        raise GLMAPIError(msg, status_code=status)
    if is_error or data.get("error"):
        raise error_from_payload(data, status)
    return data


class _FrameReader:
    """Per-stream state shared by both stream twins: counts frames, checks the ending.

    Attributes:
        count: Frames decoded so far.
        finished: Whether any frame so far carried `choices[0].finish_reason` (a usage-only
            frame may follow the finish frame).
    """

    def __init__(self) -> None:
        self.count = 0
        self.finished = False

    def read(self, sse: ServerSentEvent) -> dict[str, Any] | None:
        """Decode one event and remember whether it carried a finish_reason."""
        frame = decode_frame(sse.event, sse.data)
        if frame is not None:
            self.count += 1
            choices = frame.get("choices")
            first = choices[0] if isinstance(choices, list) and choices else None
            self.finished |= isinstance(first, dict) and bool(first.get("finish_reason"))
        return frame

    def end(self) -> None:
        """Called at EOF without `[DONE]`: fine after a finish_reason, else a cut connection."""
        if not self.finished:
            msg = f"stream ended after {self.count} frames without [DONE]"
            raise GLMConnectionError(msg)


class GLMClient:
    """Minimal GLM chat-completions client with retries; no LangChain imports, no I/O in init.

    Args:
        base_url: API root, e.g. "https://api.z.ai/api/paas/v4".
        api_key: Bearer key (or "<id>.<secret>" when `jwt_auth`); checked at request time.
        timeout: Seconds or an `httpx.Timeout`, applied to every request.
        max_retries: Retries for failures while opening a request (ignored if `retry_policy`).
        default_headers: Extra headers sent with every request.
        http_client: Sync httpx client to use as given (never closed by us).
        http_async_client: Async httpx client to use as given (never closed by us).
        jwt_auth: Sign a short-lived JWT from the key instead of sending the key itself.
        retry_policy: Full retry settings; defaults to `RetryPolicy(max_retries=max_retries)`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: float | httpx.Timeout | None = 60.0,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        jwt_auth: bool = False,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        """API base, without a trailing slash."""
        self.url = self.base_url + "/chat/completions"
        """Full chat-completions endpoint URL."""
        self._api_key = (api_key or "").strip()
        self._timeout = _timeout_key(timeout)
        self._default_headers = dict(default_headers or {})
        self._http_client = http_client
        self._http_async_client = http_async_client
        self._jwt_auth = jwt_auth
        self._policy = retry_policy or RetryPolicy(max_retries=max_retries)

    def __repr__(self) -> str:
        return f"GLMClient(url={self.url!r}, jwt_auth={self._jwt_auth})"

    def sync_http_client(self) -> httpx.Client:
        """Return the injected sync client, or the process-wide shared one for this timeout."""
        return self._http_client or _shared_client(self._timeout, os.getpid())

    def async_http_client(self) -> httpx.AsyncClient:
        """Return the injected async client, or the shared one for the running event loop."""
        return self._http_async_client or _shared_async_client(self._timeout)

    def _request(
        self,
        client: httpx.Client | httpx.AsyncClient,
        payload: dict[str, Any],
        *,
        stream: bool,
        path: str = _CHAT,
    ) -> httpx.Request:
        """Build the POST; raises `GLMAuthenticationError` (before any I/O) without a key."""
        if not self._api_key:
            raise GLMAuthenticationError(_NO_KEY)
        token = cached_jwt(self._api_key) if self._jwt_auth else self._api_key
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": f"langchain-glm/{__version__}",
            **self._default_headers,
            "Authorization": f"Bearer {token}",
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timeout = _make_timeout(self._timeout)
        return client.build_request(
            "POST", f"{self.base_url}/{path}", headers=headers, content=body, timeout=timeout
        )

    def _delay_or_raise(self, error: GLMError, attempt: int) -> float:
        """Ask the policy for the next delay; raise `error` when it says give up."""
        delay = self._policy.next_delay(error, attempt)
        if delay is None:
            raise error.redact(self._api_key)
        _LOG.debug("GLM request failed (%s); retry %d in %.3fs", error, attempt + 1, delay)
        return delay

    def _open(self, client: httpx.Client, request: httpx.Request) -> httpx.Response:
        """Send until a 2xx status line arrives, retrying per policy; body not yet read."""
        attempt = 0
        while True:
            try:
                response = client.send(request, stream=True)
                _LOG.debug("POST %s -> HTTP %d", request.url, response.status_code)
                if response.is_success:
                    return response
                try:
                    body = response.read()
                finally:
                    response.close()
                error = error_from_response(response.status_code, body, response.headers)
            except httpx.TransportError as exc:
                error = error_from_transport(exc)
            time.sleep(self._delay_or_raise(error, attempt))
            attempt += 1

    async def _aopen(self, client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        """Async twin of `_open`."""
        attempt = 0
        while True:
            try:
                response = await client.send(request, stream=True)
                _LOG.debug("POST %s -> HTTP %d", request.url, response.status_code)
                if response.is_success:
                    return response
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
                error = error_from_response(response.status_code, body, response.headers)
            except httpx.TransportError as exc:
                error = error_from_transport(exc)
            await asyncio.sleep(self._delay_or_raise(error, attempt))
            attempt += 1

    def post(self, payload: dict[str, Any], *, path: str = _CHAT) -> dict[str, Any]:
        """Send a non-stream request (to `{base_url}/{path}`) and return the decoded JSON body."""
        client = self.sync_http_client()
        request = self._request(client, payload, stream=False, path=path)
        response = self._open(client, request)
        try:
            body = response.read()
        except httpx.TransportError as exc:
            raise error_from_transport(exc) from exc
        finally:
            response.close()
        return _parse_body(response, body)

    async def apost(self, payload: dict[str, Any], *, path: str = _CHAT) -> dict[str, Any]:
        """Async twin of `post`."""
        client = self.async_http_client()
        request = self._request(client, payload, stream=False, path=path)
        response = await self._aopen(client, request)
        try:
            body = await response.aread()
        except httpx.TransportError as exc:
            raise error_from_transport(exc) from exc
        finally:
            await response.aclose()
        return _parse_body(response, body)

    def stream(self, payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Send a stream request and yield decoded chunk dicts until `[DONE]`; never re-sent."""
        client = self.sync_http_client()
        response = self._open(client, self._request(client, payload, stream=True))
        reader = _FrameReader()
        try:
            with _stream_errors(response):
                for sse in EventSource(response).iter_sse():
                    if (frame := reader.read(sse)) is None:
                        return
                    yield frame
        finally:
            response.close()
        reader.end()

    async def astream(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Async twin of `stream`."""
        client = self.async_http_client()
        response = await self._aopen(client, self._request(client, payload, stream=True))
        reader = _FrameReader()
        try:
            with _stream_errors(response):
                async for sse in EventSource(response).aiter_sse():
                    if (frame := reader.read(sse)) is None:
                        return
                    yield frame
        finally:
            await response.aclose()
        reader.end()

    # -------------------------------------------------------------------- any method and path
    # Added for the Batch API (files and batches, https://docs.bigmodel.cn/cn/guide/tools/batch):
    # the same headers, retry loop and error mapping as chat requests, for any method and body.

    def _build(
        self,
        client: httpx.Client | httpx.AsyncClient,
        method: str,
        path: str,
        body: bytes | None,
        content_type: str,
    ) -> httpx.Request:
        """Build a request with `_request`'s headers (key check, auth, user agent, extras)."""
        template = self._request(client, {}, stream=False, path=path)
        headers = httpx.Headers(template.headers)
        del headers["content-length"]
        headers["content-type"] = content_type
        return client.build_request(
            method,
            template.url,
            headers=headers,
            content=body,
            timeout=template.extensions["timeout"],
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> bytes:
        """Send `method {base_url}/{path}` with retries and return the raw 2xx body.

        Args:
            method: HTTP method.
            path: Path below the base URL, e.g. `"files"` or `"batches/batch_1"`.
            body: Request body, if any.
            content_type: Its content type.

        Returns:
            The response body.
        """
        client = self.sync_http_client()
        response = self._open(client, self._build(client, method, path, body, content_type))
        try:
            return response.read()
        except httpx.TransportError as exc:
            raise error_from_transport(exc) from exc
        finally:
            response.close()

    async def arequest(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> bytes:
        """Async twin of `request`."""
        client = self.async_http_client()
        response = await self._aopen(client, self._build(client, method, path, body, content_type))
        try:
            return await response.aread()
        except httpx.TransportError as exc:
            raise error_from_transport(exc) from exc
        finally:
            await response.aclose()
