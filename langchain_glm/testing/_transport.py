"""`GLMTransport`: `GLMService` as an in-process httpx transport, sync and async, no sockets."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Iterator

import httpx

from langchain_glm.testing._replies import Plan, RecordedRequest
from langchain_glm.testing._server import parse_json
from langchain_glm.testing._service import GLMService


def _timeout(request: httpx.Request) -> float:
    """The client's read timeout: the longest silence it waits through."""
    read = request.extensions.get("timeout", {}).get("read")
    return math.inf if read is None else float(read)


def _late(seconds: float, request: httpx.Request) -> None:
    if seconds > _timeout(request):
        raise httpx.ReadTimeout("timed out", request=request)


def _recorded(request: httpx.Request, body: bytes) -> RecordedRequest:
    headers = {k.lower(): v for k, v in request.headers.items()}
    path, query = request.url.path, request.url.query.decode()
    return RecordedRequest(request.method, path, headers, parse_json(body), body, 0, query)


def _response(plan: Plan, request: httpx.Request) -> httpx.Response:
    _late(plan.delay, request)
    if plan.disconnect:
        message = "Server disconnected without sending a response."
        raise httpx.RemoteProtocolError(message, request=request)
    body = _Body(plan, request)
    return httpx.Response(plan.status, headers=plan.header_list(), stream=body, request=request)


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body paced as planned, ending early when the plan cuts it."""

    def __init__(self, plan: Plan, request: httpx.Request) -> None:
        self._plan, self._request = plan, request

    def __iter__(self) -> Iterator[bytes]:
        for gap, piece in self._plan.paced():
            time.sleep(min(gap, _timeout(self._request)))
            _late(gap, self._request)
            yield piece
        self._end()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for gap, piece in self._plan.paced():
            await asyncio.sleep(min(gap, _timeout(self._request)))
            _late(gap, self._request)
            yield piece
        self._end()

    def _end(self) -> None:
        if not self._plan.complete:
            message = "peer closed connection without sending complete message body"
            raise httpx.RemoteProtocolError(message, request=self._request)


class GLMTransport(GLMService, httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The GLM test service as an httpx transport: same behaviour as `GLMServer`, no sockets.

    Pass it as ``http_client=httpx.Client(transport=t)`` or
    ``http_async_client=httpx.AsyncClient(transport=t)``, with any base URL. Delays and trickles
    honour the client's read timeout (raising `httpx.ReadTimeout`), cuts and disconnects raise
    `httpx.RemoteProtocolError`, as over a socket.
    """

    base_url = "http://glm.test/api/paas/v4"
    """A base URL for clients of this transport (any host works)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request; the body streams as planned."""
        plan = self.plan(_recorded(request, request.read()))
        time.sleep(min(plan.delay, _timeout(request)))
        return _response(plan, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (async); the body streams as planned."""
        plan = self.plan(_recorded(request, await request.aread()))
        await asyncio.sleep(min(plan.delay, _timeout(request)))
        return _response(plan, request)
