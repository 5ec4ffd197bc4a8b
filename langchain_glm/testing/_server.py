"""The carriers of `GLMService`: `GLMServer` (HTTP/1.1 on loopback) and `GLMTransport` (httpx).

`GLMServer` runs h11 (https://h11.readthedocs.io) on one asyncio loop in a thread: every fault is
a cancellable ``await``, so `stop` ends open streams at once. Loopback only, never for production.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from http.client import responses
from typing import Any

import h11
import httpx

from langchain_glm.testing._auto import auto_reply
from langchain_glm.testing._base import RecordedRequest, WireReply
from langchain_glm.testing._service import GLMService


class GLMServer(GLMService):
    """`GLMService` (all the scripting) served over HTTP on 127.0.0.1 (see the package docs)."""

    def __init__(self, *, port: int = 0, **options: Any) -> None:
        """Configure the server; nothing listens until `start` or ``with``.

        Args:
            port: TCP port on 127.0.0.1 (the only address it binds); 0 picks a free one.
            **options: `GLMService` options: ``api_key``, ``models``, ``validate``.
        """
        super().__init__(**options)
        self._address = ("127.0.0.1", port)
        self._connections = 0
        self.port = 0
        """The bound TCP port (0 before the server starts)."""
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return f"GLMServer(url={self.url!r})" if self._thread else "GLMServer(stopped)"

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:53011``; `RuntimeError` when not running."""
        if not self._thread:
            raise RuntimeError("GLMServer is not running; use `with GLMServer() as server:`")
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Base URL for ``ChatGLM(base_url=...)``: ``<url>/api/paas/v4``."""
        return f"{self.url}/api/paas/v4"

    def start(self) -> GLMServer:
        """Listen (`OSError` if the port is taken) and serve in a thread; returns the server."""
        if self._thread is not None:
            raise RuntimeError("GLMServer is already running")
        sock = socket.create_server(self._address, backlog=4096)
        self.port = sock.getsockname()[1]
        self._stop = asyncio.new_event_loop().create_future()
        self._thread = threading.Thread(target=self._run, args=(sock, self._stop), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listener and every connection, and join the thread (idempotent)."""
        if self._thread is not None and self._stop is not None:
            self._stop.get_loop().call_soon_threadsafe(self._stop.set_result, None)
            self._thread.join()
            self._thread = None

    def __enter__(self) -> GLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> GLMServer:
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    def _run(self, sock: socket.socket, stop: asyncio.Future[None]) -> None:
        async def serve() -> None:
            server = await asyncio.start_server(self._connection, sock=sock)
            await stop
            server.close()
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        loop = stop.get_loop()
        loop.run_until_complete(serve())
        loop.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections += 1
        conn, cid = h11.Connection(h11.SERVER), self._connections
        # A reply goes out in several writes (head, body, end); without TCP_NODELAY the kernel
        # holds each small write for the client's delayed ACK: ~40 ms a request on Linux.
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while (request := await _read(conn, reader, cid)) is not None:
                if not await _send(conn, writer, self.plan(request)):
                    break
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError):
            pass  # the client went away or spoke garbage: drop the connection
        except asyncio.CancelledError:
            writer.transport.abort()  # `stop`: end open streams at once
            return
        writer.close()


async def _read(
    conn: h11.Connection, reader: asyncio.StreamReader, cid: int
) -> RecordedRequest | None:
    head, body = None, bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(65536))
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif not isinstance(event, h11.EndOfMessage) or head is None:
            return None
        else:
            headers = {k.decode(): v.decode() for k, v in head.headers}  # h11 lower-cases names
            target, method = head.target.decode(), head.method.decode()
            return RecordedRequest.of(method, target, headers, bytes(body), cid)


async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, plan: WireReply) -> bool:
    if plan.delay > 0:
        await asyncio.sleep(plan.delay)
    if plan.disconnect:
        return False
    headers = [*plan.headers.items(), ("Connection", "keep-alive")]  # h11 says close if needed
    reason = responses.get(plan.status, "")  # none for unregistered codes such as 529
    head = h11.Response(status_code=plan.status, headers=headers, reason=reason)
    writer.write(conn.send(head) or b"")
    sized = any(name.lower() == "content-length" for name in plan.headers)  # as h11 reads them
    chunked = not sized and conn.their_http_version == b"1.1"
    for gap, piece in plan.paced():
        if gap > 0:
            await writer.drain()
            await asyncio.sleep(gap)
        # h11 frames a chunk in Python per event; framing it here is 30 times faster
        frame = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else None
        writer.write(frame or conn.send(h11.Data(data=piece)) or b"")
    if plan.complete:
        writer.write(conn.send(h11.EndOfMessage()) or b"")
    await writer.drain()
    return plan.complete and conn.our_state is h11.DONE


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, plan: WireReply, request: httpx.Request) -> None:
        read = request.extensions.get("timeout", {}).get("read")
        self.plan, self.request, self.timeout = plan, request, math.inf if read is None else read
        self.wait = min(plan.delay, self.timeout)  # then `response` raises ReadTimeout

    def _late(self, seconds: float) -> None:
        if seconds > self.timeout:
            raise httpx.ReadTimeout("timed out", request=self.request)

    def response(self) -> httpx.Response:
        self._late(self.plan.delay)
        if self.plan.disconnect:
            message = "Server disconnected without sending a response."
            raise httpx.RemoteProtocolError(message, request=self.request)
        plan, request = self.plan, self.request
        return httpx.Response(plan.status, headers=plan.headers, stream=self, request=request)

    def __iter__(self) -> Iterator[bytes]:
        for gap, piece in self.plan.paced():
            time.sleep(min(gap, self.timeout))
            self._late(gap)
            yield piece
        self._end()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for gap, piece in self.plan.paced():
            await asyncio.sleep(min(gap, self.timeout))
            self._late(gap)
            yield piece
        self._end()

    def _end(self) -> None:
        if not self.plan.complete:
            message = "peer closed connection without sending complete message body"
            raise httpx.RemoteProtocolError(message, request=self.request)


class GLMTransport(GLMService, httpx.BaseTransport, httpx.AsyncBaseTransport):
    """`GLMServer`'s behaviour as an httpx transport, no sockets: ``httpx.Client(transport=t)``.

    Faults raise as over a socket: `httpx.ReadTimeout` past the client's read timeout, cuts and
    disconnects `httpx.RemoteProtocolError`.
    """

    base_url = "http://glm.test/api/paas/v4"
    """A base URL for clients of this transport (any host works)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request; the body streams as planned."""
        body = self._body(request, request.read())
        time.sleep(body.wait)
        return body.response()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (async); the body streams as planned."""
        body = self._body(request, await request.aread())
        await asyncio.sleep(body.wait)
        return body.response()

    def _body(self, request: httpx.Request, data: bytes) -> _Body:
        target, headers = request.url.raw_path.decode(), dict(request.headers)  # lower-case names
        recorded = RecordedRequest.of(request.method, target, headers, data)
        return _Body(self.plan(recorded), request)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m langchain_glm.testing``: serve on loopback until Ctrl-C."""
    parser = argparse.ArgumentParser("python -m langchain_glm.testing", description=__doc__)
    parser.add_argument("--port", type=int, default=8000, help="TCP port, 0 for a free one")
    parser.add_argument("--auto", action="store_true", help="answer like a cooperative model")
    args = parser.parse_args(argv)
    try:
        server = GLMServer(port=args.port).start()
    except OSError as exc:
        reason = exc.strerror or exc
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {reason}", file=sys.stderr)
        return 2
    server.script(auto_reply if args.auto else None)
    print(f"GLM test server listening on {server.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    server.stop()
    return 0
