"""GLMClient: the only module that does network I/O (sync and async twins over httpx).

Every decision lives in shared, pure helpers: the retry schedule (`_retry`), the error table
(`_errors`), the auth (`_auth`), the time budget (`Deadline`) and the capped SSE reader
(`SSEReader`). The twins (`post`/`apost`, `stream`/`astream`, the drivers `_retry`/`_aretry`
and the one-attempt helpers) differ only by async/await.

Chat completions: https://docs.z.ai/api-reference/llm/chat-completion
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import dataclasses
import enum
import json
import logging
import os
import threading
import weakref
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any, Literal, TypeVar

import httpx

from langchain_glm._auth import GLMAuth, check_api_key, check_base_url
from langchain_glm._decode import (
    Deadline,
    SSEReader,
    chat_reply,
    json_object,
)
from langchain_glm._errors import (
    GLMAPIError,
    GLMAuthenticationError,
    GLMError,
    error_from_response,
    error_from_transport,
    excerpt,
    malformed,
)
from langchain_glm._retry import GiveUp, RetryPolicy, RetrySchedule, Sleep, Step
from langchain_glm._version import __version__

_LOG = logging.getLogger("langchain_glm")
_T = TypeVar("_T")
_CHAT = "chat/completions"
TOKENIZER = "tokenizer"
"""Path of GLM's token-counting endpoint (`POST {base}/tokenizer`)."""
_NO_KEY = (
    "no GLM API key: set ZAI_API_KEY (or ZHIPUAI_API_KEY) or pass api_key=. To run offline, "
    "start the bundled server (python -m langchain_glm.testing --auto --port 8000) and set "
    "ZAI_BASE_URL=http://127.0.0.1:8000/api/paas/v4 and ZAI_API_KEY=offline"
)
DEFAULT_TIMEOUT = 600.0
"""Default time budget in seconds: long thinking answers take minutes (openai's SDK uses 600 s)."""
CONNECT_TIMEOUT = 10.0
"""Connect timeout when `timeout` is a number: a reachable server answers a SYN in far less."""
ERROR_BODY_CAP = 4 * 1024 * 1024
"""Bytes of an error body that are read; the rest is not (a 100 MB proxy page stays on the wire)."""
BODY_CAP = 32 * 1024 * 1024
"""Largest non-stream reply accepted (GLM's longest answers are a few MB)."""
_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
"""Shared pools: httpx's default of 100 connections would queue the 101st concurrent stream
(measured with 200 concurrent `astream` calls); keep 100 idle connections for reuse."""
FILE_CAP = 512 * 1024 * 1024
"""Cap of a raw download (a Batch API result file: at most 50,000 answers)."""
_USER_AGENT = f"langchain-glm/{__version__}"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""Compact JSON, non-ASCII kept as is (one encoder, not one per request)."""
Check = Callable[[dict[str, Any]], Any]
"""Validates (and may transform) a decoded JSON reply; raises a `GLMError`."""


_DOWNLOAD_ENCODINGS = "gzip, deflate"
"""What a download accepts: the encodings `Inflater` decodes in bounded pieces."""
INFLATE_PIECE = 1024 * 1024
"""Most bytes a compressed download is inflated to at a time."""


class Inflater:
    """Bounded incremental decoding of a download's `Content-Encoding` (identity, gzip, deflate).

    Args:
        encoding: The response's `Content-Encoding` header, or None.

    Raises:
        GLMAPIError: For an encoding we cannot decode in bounded pieces (nothing is read).
    """

    def __init__(self, encoding: str | None) -> None:
        name = (encoding or "identity").strip().lower()
        if name not in ("identity", "gzip", "x-gzip", "deflate"):
            raise malformed(f"a download with Content-Encoding {excerpt(name, 40)}")
        wbits = 16 + zlib.MAX_WBITS if "gzip" in name else zlib.MAX_WBITS
        self._zlib = None if name == "identity" else zlib.decompressobj(wbits)

    def feed(self, raw: bytes) -> Iterator[bytes]:
        """Yield the decoded bytes of `raw`, at most `INFLATE_PIECE` at a time."""
        if self._zlib is None:
            yield raw
            return
        try:
            while raw:
                piece = self._zlib.decompress(raw, INFLATE_PIECE)
                raw = self._zlib.unconsumed_tail
                yield piece
        except zlib.error as exc:
            raise malformed(f"undecodable compressed download ({exc})") from exc


class _Keep(enum.Enum):
    """Marks an option `with_options` leaves as it is."""

    KEEP = enum.auto()


_sync_pools: dict[int, httpx.Client] = {}
_sync_lock = threading.Lock()
_LoopPool = tuple[httpx.AsyncClient, AsyncGenerator[None, None]]
_async_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPool] = (
    weakref.WeakKeyDictionary()
)
"""Per event loop: its pool, and the parked generator that closes it with the loop."""
_async_lock = threading.Lock()


def _shared_client() -> httpx.Client:
    """The one sync connection pool of this process (a forked child makes its own)."""
    pid = os.getpid()
    with _sync_lock:
        client = _sync_pools.get(pid)
        if client is None:
            client = _sync_pools[pid] = httpx.Client(limits=_LIMITS)
            atexit.register(client.close)
    return client


async def _close_with_loop(
    client: httpx.AsyncClient, owner: weakref.ref[asyncio.AbstractEventLoop]
) -> AsyncGenerator[None, None]:
    """Close a loop's pool when the loop shuts down.

    asyncio has no public "on loop close" callback, so this async generator is started once
    per event loop and parked at its `yield`: loops close the async generators they started
    on shutdown (`asyncio.run` and `asyncio.Runner` call `loop.shutdown_asyncgens()`,
    https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.loop.shutdown_asyncgens),
    which runs the `finally` inside the still-running loop. Closed from another loop (see
    `_shared_async_client`), it only finishes.
    """
    try:
        yield
    finally:
        if asyncio.get_running_loop() is owner():
            await client.aclose()


async def _shared_async_client() -> httpx.AsyncClient:
    """The one async connection pool of the running event loop.

    The pools of loops closed without `shutdown_asyncgens` (plain `loop.close()`) are
    dropped here: their sockets cannot be closed through a closed loop, and dropping every
    reference lets the garbage collector close them. Their parked closers are finished
    first, so none is handed to a dead loop's finalizer ("Event loop is closed").
    """
    loop = asyncio.get_running_loop()
    entry = _async_pools.get(loop)
    if entry is not None:
        return entry[0]
    with _async_lock:  # loops of other threads may register at the same time
        stale = [_async_pools.pop(dead)[1] for dead in list(_async_pools) if dead.is_closed()]
        client = httpx.AsyncClient(limits=_LIMITS)
        closer = _close_with_loop(client, weakref.ref(loop))
        _async_pools[loop] = (client, closer)
    await anext(closer)  # runs to the `yield` at once: no other task can come in between
    for dead_closer in stale:
        await dead_closer.aclose()
    return client


def _timeouts(timeout: float | httpx.Timeout | None) -> tuple[httpx.Timeout, float | None]:
    """Split the `timeout` setting into httpx's per-request timeouts and our time budget.

    A number `t` means: connect within `min(t, CONNECT_TIMEOUT)`, then `t` for the rest (see
    `GLMClient`). An `httpx.Timeout` is used as given and its `read` is the budget.
    """
    if isinstance(timeout, httpx.Timeout):
        return timeout, timeout.read
    if timeout is None:
        return httpx.Timeout(None), None
    connect = min(float(timeout), CONNECT_TIMEOUT)
    return httpx.Timeout(timeout, connect=connect), float(timeout)


@contextlib.contextmanager
def _failures(secrets: tuple[str, ...]) -> Iterator[None]:
    """Turn every failure into a `GLMError` with the secrets redacted (shared by both twins)."""
    try:
        yield
    except GLMError as error:
        raise error.redact(secrets) from error.__cause__
    except httpx.DecodingError as exc:  # e.g. a corrupt gzip body
        raise malformed(f"undecodable body ({exc})").redact(secrets) from exc
    except httpx.TransportError as exc:
        raise error_from_transport(exc).redact(secrets) from exc


def _read(response: httpx.Response, cap: int, deadline: Deadline) -> bytes:
    """Read a body up to just over `cap` bytes, checking the time budget at each chunk."""
    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        deadline.check()
        if len(body) > cap:
            break
    return bytes(body)


async def _aread(response: httpx.Response, cap: int, deadline: Deadline) -> bytes:
    """Async twin of `_read`."""
    body = bytearray()
    async for piece in response.aiter_bytes():
        body += piece
        deadline.check()
        if len(body) > cap:
            break
    return bytes(body)


def _status_error(response: httpx.Response, body: bytes) -> GLMError:
    """The error for a non-2xx response whose (capped) body was read."""
    cut = len(body) > ERROR_BODY_CAP
    return error_from_response(
        response.status_code, body[:ERROR_BODY_CAP], response.headers, cut=cut
    )


def _reply(response: httpx.Response, body: bytes, check: Check | None) -> Any:
    """Decode and check a 2xx non-stream body; with no `check`, return the raw bytes."""
    cap = BODY_CAP if check is not None else FILE_CAP
    if len(body) > cap:
        raise malformed(f"reply longer than {cap // 1048576} MiB", status=response.status_code)
    if check is None:
        return body
    return check(json_object(body, "response body", response.status_code))


def _not_sse(response: httpx.Response, body: bytes) -> GLMError:
    """The error for a 2xx stream reply that is not `text/event-stream` (an error body, or junk)."""
    json_object(body[:ERROR_BODY_CAP], "response body", response.status_code)
    kind = response.headers.get("content-type", "none")
    return malformed(f"expected text/event-stream, got {kind}", status=response.status_code)


def _first(frame: dict[str, Any] | None) -> dict[str, Any]:
    """The first frame of a stream; the reader already raised for a stream without one."""
    if frame is None:  # pragma: no cover - `SSEReader` raises first
        raise GLMAPIError("GLM sent an empty stream")
    return frame


def _next_frame(chunks: Iterator[bytes], reader: SSEReader) -> dict[str, Any] | None:
    """The next frame, or None at `[DONE]` or a complete end."""
    while not reader.frames:
        if reader.failure is not None:
            raise reader.failure
        piece = None if reader.done else next(chunks, None)
        if piece is None:
            if not reader.done:
                reader.end()
            return None
        reader.feed(piece)
    return reader.frames.popleft()


async def _anext_frame(chunks: AsyncIterator[bytes], reader: SSEReader) -> dict[str, Any] | None:
    """Async twin of `_next_frame`."""
    while not reader.frames:
        if reader.failure is not None:
            raise reader.failure
        piece = None if reader.done else await anext(chunks, None)
        if piece is None:
            if not reader.done:
                reader.end()
            return None
        reader.feed(piece)
    return reader.frames.popleft()


def _drain(chunks: Iterator[bytes], reader: SSEReader) -> None:
    """Read past `[DONE]` to the body's end (bounded) so the connection goes back to the pool."""
    with contextlib.suppress(httpx.HTTPError):
        for piece in chunks:
            if not reader.drained(len(piece)):
                return


async def _adrain(chunks: AsyncIterator[bytes], reader: SSEReader) -> None:
    """Async twin of `_drain`."""
    with contextlib.suppress(httpx.HTTPError):
        async for piece in chunks:
            if not reader.drained(len(piece)):
                return


_Opened = tuple[httpx.Response, Iterator[bytes], SSEReader, dict[str, Any]]
_AOpened = tuple[httpx.Response, AsyncIterator[bytes], SSEReader, dict[str, Any]]


class GLMClient:
    """Minimal GLM client with retries; no LangChain imports, no I/O in init.

    `timeout` bounds each attempt. A number `t` (default 600 s) allows `min(t, 10)` s to
    connect, and then: for a non-stream call, `t` seconds for the whole reply (checked at each
    chunk received, and no more than `t` of silence); for a stream, `t` seconds for the status
    line and then for each next event (SSE comments such as `: ping` and keep-alive bytes do not
    count). An `httpx.Timeout` sets connect/write/pool as given and its `read` is the budget;
    None waits forever. Running out of time raises `GLMTimeoutError` and is never re-sent.

    Retries (see `RetryPolicy`): connect errors, pool timeouts, 429 rate limits (not quota
    1113), 5xx, and a reply that failed on GLM's side (`finish_reason: "network_error"`, no
    choice, an error frame or an empty stream before any frame). Nothing is re-sent once the
    request was fully sent and may be generating, nor once a stream frame was handed out.

    Args:
        base_url: API root, e.g. "https://api.z.ai/api/paas/v4" (absolute http(s)).
        api_key: Bearer key (or "<id>.<secret>" when `jwt_auth`); a missing key fails at
            request time, before sending.
        timeout: Seconds, an `httpx.Timeout`, or None (see above).
        max_retries: Retries of retryable failures (ignored if `retry_policy`).
        default_headers: Extra headers sent with every request.
        http_client: Sync httpx client to use as given (never closed by us).
        http_async_client: Async httpx client to use as given (never closed by us).
        jwt_auth: Sign a short-lived JWT from the key for each attempt instead of the key.
        retry_policy: Full retry settings; defaults to `RetryPolicy(max_retries=max_retries)`.

    Raises:
        ValueError: For an invalid `base_url`, or a key that cannot be sent as a header.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        jwt_auth: bool = False,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.base_url = check_base_url(base_url)
        """API base, without a trailing slash."""
        self.url = self.base_url + "/" + _CHAT
        """Full chat-completions endpoint URL."""
        key = check_api_key(api_key)
        self._auth = GLMAuth(key, jwt=jwt_auth) if key else None
        self._secrets = self._auth.secrets if self._auth else ()
        self._jwt_auth = jwt_auth
        self._timeout, self._budget = _timeouts(timeout)
        self._default_headers = dict(default_headers or {})
        self._pool_headers: dict[tuple[bool, str | None], tuple[httpx.Headers, httpx.Headers]] = {}
        self._urls: dict[str, httpx.URL] = {}
        self._http_client = http_client
        self._http_async_client = http_async_client
        self._policy = retry_policy or RetryPolicy(max_retries=max_retries)

    def __repr__(self) -> str:
        return f"GLMClient(url={self.url!r}, jwt_auth={self._jwt_auth})"

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | Literal[_Keep.KEEP] | None = _Keep.KEEP,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> GLMClient:
        """A cheap copy for one call, sharing auth and connection pools.

        Args:
            timeout: Replaces the timeout (same meaning as in the constructor).
            max_retries: Replaces the number of retries.
            default_headers: Headers added to (and overriding) the default ones.

        Returns:
            The copy (this client is unchanged).
        """
        clone = copy.copy(self)
        if timeout is not _Keep.KEEP:
            clone._timeout, clone._budget = _timeouts(timeout)
        if max_retries is not None:
            clone._policy = dataclasses.replace(self._policy, max_retries=max_retries)
        if default_headers:
            clone._default_headers = {**self._default_headers, **default_headers}
            clone._pool_headers = {}
        return clone

    def sync_http_client(self) -> httpx.Client:
        """Return the injected sync client, or the process-wide shared pool."""
        return self._http_client or _shared_client()

    async def async_http_client(self) -> httpx.AsyncClient:
        """Return the injected async client, or the shared pool of the running event loop."""
        return self._http_async_client or await _shared_async_client()

    def build_request(
        self,
        client: httpx.Client | httpx.AsyncClient,
        method: str,
        path: str,
        payload: Any = None,
        *,
        stream: bool = False,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Request:
        """Build a request to `{base_url}/{path}` with a JSON `payload` or a raw `content`.

        A client given by the user builds it (`client.build_request`), so its own headers,
        cookies, params and base URL apply. Our shared pools have none of those (only httpx's
        default headers), so for them the request is made directly from headers merged once,
        which is field for field what `client.build_request` makes, ~20 µs sooner. Once a
        pool holds cookies (a `Set-Cookie` reply), it builds its requests again.

        Raises:
            GLMAuthenticationError: Without a key (before any I/O).
        """
        if self._auth is None:
            raise GLMAuthenticationError(_NO_KEY)
        if payload is not None:
            content_type = "application/json"
            content = _dumps(payload).encode()
        url = self._url(path)
        if client is self._http_client or client is self._http_async_client or client.cookies:
            ours = self._headers(stream, content_type)
            return client.build_request(
                method, url, headers=ours, content=content, timeout=self._timeout
            )
        merged = self._merged_headers(client, stream, content_type)
        timeout = {"timeout": self._timeout.as_dict()}
        return httpx.Request(method, url, headers=merged, content=content, extensions=timeout)

    def _headers(self, stream: bool, content_type: str | None) -> dict[str, str]:
        """The headers this client adds to every request of the given kind."""
        headers = {
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": _USER_AGENT,
            **self._default_headers,
        }
        if content_type is not None:
            headers["Content-Type"] = content_type
        return headers

    def _merged_headers(
        self, client: httpx.Client | httpx.AsyncClient, stream: bool, content_type: str | None
    ) -> httpx.Headers:
        """A pool's headers merged with ours as `client.build_request` does, once per kind."""
        key = (stream, content_type)
        cached = self._pool_headers.get(key)
        if cached is None or cached[0] is not client.headers:
            merged = httpx.Headers(client.headers)
            merged.update(self._headers(stream, content_type))
            cached = self._pool_headers[key] = (client.headers, merged)
        return cached[1]  # `httpx.Request` copies the headers it is given

    def _url(self, path: str) -> httpx.URL:
        """`{base_url}/{path}` as a parsed URL, parsed once per path (parsing costs ~20 µs)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(f"{self.base_url}/{path}")
        return url

    def _failed(self, schedule: RetrySchedule, error: GLMError) -> Step:
        """Hand a failure to the schedule; raise it if that gives up, else return the next step."""
        step = schedule.send(error.redact(self._secrets))
        if isinstance(step, GiveUp):
            raise error
        _LOG.debug("GLM request failed (%s); retrying", error)
        return step

    def _retry(self, attempt: Callable[[], _T]) -> _T:
        """Sync driver of the retry schedule: send, sleep or give up as the schedule says."""
        schedule = self._policy.schedule()
        step = next(schedule)
        while True:
            if isinstance(step, Sleep):
                _LOG.debug("GLM retry in %.3fs", step.seconds)
                self._policy.sleep(step.seconds)
                step = next(schedule)
                continue
            try:
                result = attempt()
            except GLMError as error:
                step = self._failed(schedule, error)
            else:
                schedule.close()
                return result

    async def _aretry(self, attempt: Callable[[], Awaitable[_T]]) -> _T:
        """Async twin of `_retry`."""
        schedule = self._policy.schedule()
        step = next(schedule)
        while True:
            if isinstance(step, Sleep):
                _LOG.debug("GLM retry in %.3fs", step.seconds)
                await self._policy.asleep(step.seconds)
                step = next(schedule)
                continue
            try:
                result = await attempt()
            except GLMError as error:
                step = self._failed(schedule, error)
            else:
                schedule.close()
                return result

    def _send(
        self, client: httpx.Client, request: httpx.Request, deadline: Deadline
    ) -> httpx.Response:
        """Send once; return a 2xx response (body unread) or raise the mapped error."""
        response = client.send(request, stream=True, auth=self._auth)
        _LOG.debug("%s %s -> HTTP %d", request.method, request.url, response.status_code)
        if response.is_success:
            return response
        try:
            body = _read(response, ERROR_BODY_CAP, deadline)
        finally:
            response.close()
        raise _status_error(response, body)

    async def _asend(
        self, client: httpx.AsyncClient, request: httpx.Request, deadline: Deadline
    ) -> httpx.Response:
        """Async twin of `_send`."""
        response = await client.send(request, stream=True, auth=self._auth)
        _LOG.debug("%s %s -> HTTP %d", request.method, request.url, response.status_code)
        if response.is_success:
            return response
        try:
            body = await _aread(response, ERROR_BODY_CAP, deadline)
        finally:
            await response.aclose()
        raise _status_error(response, body)

    def _exchange(self, client: httpx.Client, request: httpx.Request, check: Check | None) -> Any:
        """One non-stream attempt: send, read the whole (capped) reply in time, decode, check."""
        deadline = Deadline(self._budget, "complete reply")
        with _failures(self._secrets):
            response = self._send(client, request, deadline)
            try:
                body = _read(response, FILE_CAP if check is None else BODY_CAP, deadline)
            finally:
                response.close()
            return _reply(response, body, check)

    async def _aexchange(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        check: Check | None,
    ) -> Any:
        """Async twin of `_exchange`."""
        deadline = Deadline(self._budget, "complete reply")
        with _failures(self._secrets):
            response = await self._asend(client, request, deadline)
            try:
                body = await _aread(response, FILE_CAP if check is None else BODY_CAP, deadline)
            finally:
                await response.aclose()
            return _reply(response, body, check)

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
        check: Check | None = dict,
    ) -> Any:
        """Send a non-stream request to `{base_url}/{path}` with retries; return the JSON object.

        Args:
            method: HTTP method.
            path: Path under `base_url`, e.g. "tokenizer" or "files".
            payload: JSON body, or None for none.
            content: A raw body instead (e.g. a multipart upload), sent when `payload` is None.
            content_type: The raw body's content type.
            check: Validates (and may transform) the decoded object; raises a `GLMError`.
                None returns the raw reply bytes instead (a file download).
        """
        with _failures(self._secrets):
            client = self.sync_http_client()
            request = self.build_request(
                client, method, path, payload, content=content, content_type=content_type
            )
            return self._retry(lambda: self._exchange(client, request, check))

    async def arequest(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
        check: Check | None = dict,
    ) -> Any:
        """Async twin of `request`."""
        with _failures(self._secrets):
            client = await self.async_http_client()
            request = self.build_request(
                client, method, path, payload, content=content, content_type=content_type
            )
            return await self._aretry(lambda: self._aexchange(client, request, check))

    def post(self, payload: dict[str, Any], *, path: str = _CHAT) -> dict[str, Any]:
        """POST a non-stream request; a chat reply must hold a choice that did not fail."""
        result: dict[str, Any] = self.request("POST", path, payload, check=_check_for(path))
        return result

    async def apost(self, payload: dict[str, Any], *, path: str = _CHAT) -> dict[str, Any]:
        """Async twin of `post`."""
        result: dict[str, Any] = await self.arequest("POST", path, payload, check=_check_for(path))
        return result

    def _open_stream(self, client: httpx.Client, request: httpx.Request) -> _Opened:
        """One stream attempt, up to its first frame (so an early failure can be retried)."""
        deadline = Deadline(self._budget, "stream event")
        with _failures(self._secrets):
            response = self._send(client, request, deadline)
            try:
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    raise _not_sse(response, _read(response, ERROR_BODY_CAP, deadline))
                chunks, reader = response.iter_bytes(), SSEReader(deadline)
                frame = _first(_next_frame(chunks, reader))
            except BaseException:
                response.close()
                raise
            return response, chunks, reader, frame

    async def _aopen_stream(self, client: httpx.AsyncClient, request: httpx.Request) -> _AOpened:
        """Async twin of `_open_stream`."""
        deadline = Deadline(self._budget, "stream event")
        with _failures(self._secrets):
            response = await self._asend(client, request, deadline)
            try:
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    raise _not_sse(response, await _aread(response, ERROR_BODY_CAP, deadline))
                chunks, reader = response.aiter_bytes(), SSEReader(deadline)
                frame = _first(await _anext_frame(chunks, reader))
            except BaseException:
                await response.aclose()
                raise
            return response, chunks, reader, frame

    def stream(self, payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Stream a chat completion, yielding decoded frames until `[DONE]`.

        Failures before the first frame are retried per policy; after it nothing is re-sent,
        and an error (mapped, redacted) is raised after the frames already yielded. A stream
        that ends normally is read to its end, so its connection is reused.
        """
        with _failures(self._secrets):
            client = self.sync_http_client()
            request = self.build_request(client, "POST", _CHAT, payload, stream=True)
            frame: dict[str, Any] | None
            response, chunks, reader, frame = self._retry(
                lambda: self._open_stream(client, request)
            )
            try:
                while frame is not None:
                    yield frame
                    frame = _next_frame(chunks, reader)
                _drain(chunks, reader)
            finally:
                response.close()

    async def astream(self, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Async twin of `stream`."""
        with _failures(self._secrets):
            client = await self.async_http_client()
            request = self.build_request(client, "POST", _CHAT, payload, stream=True)
            frame: dict[str, Any] | None
            response, chunks, reader, frame = await self._aretry(
                lambda: self._aopen_stream(client, request)
            )
            try:
                while frame is not None:
                    yield frame
                    frame = await _anext_frame(chunks, reader)
                await _adrain(chunks, reader)
            finally:
                await response.aclose()

    def redact(self, error: GLMError) -> GLMError:
        """Remove this client's secrets from an error built outside a request (a result line).

        Args:
            error: The error; changed in place.

        Returns:
            The same error.
        """
        return error.redact(self._secrets)

    def download(self, path: str) -> Iterator[bytes]:
        """GET `{base_url}/{path}` and yield its body piece by piece (a Batch API result file).

        Nothing is held beyond one piece, so the file may be of any size: a gzip or deflate
        body is inflated at most `INFLATE_PIECE` bytes at a time (a 600 KB gzip bomb never
        becomes 600 MB at once). Failures before the body starts are retried per policy,
        later ones raise (mapped, redacted).
        """
        with _failures(self._secrets):
            client = self.sync_http_client()
            request = self.build_request(client, "GET", path)
            request.headers["Accept-Encoding"] = _DOWNLOAD_ENCODINGS
            deadline = Deadline(self._budget, "file download")
            response = self._retry(lambda: self._send(client, request, deadline))
            try:
                inflate = Inflater(response.headers.get("content-encoding"))
                for raw in response.iter_raw():
                    yield from inflate.feed(raw)
            finally:
                response.close()

    async def adownload(self, path: str) -> AsyncIterator[bytes]:
        """Async twin of `download`."""
        with _failures(self._secrets):
            client = await self.async_http_client()
            request = self.build_request(client, "GET", path)
            request.headers["Accept-Encoding"] = _DOWNLOAD_ENCODINGS
            deadline = Deadline(self._budget, "file download")
            response = await self._aretry(lambda: self._asend(client, request, deadline))
            try:
                inflate = Inflater(response.headers.get("content-encoding"))
                async for raw in response.aiter_raw():
                    for piece in inflate.feed(raw):
                        yield piece
            finally:
                await response.aclose()


def _check_for(path: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The reply check of an endpoint: chat replies need a choice; others pass as given."""
    return chat_reply if path == _CHAT else dict
