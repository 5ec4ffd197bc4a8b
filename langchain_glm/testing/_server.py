"""`GLMServer`: `GLMService` over real HTTP/1.1 on the loopback interface, for tests.

HTTP is h11's (https://h11.readthedocs.io; httpx already depends on it through httpcore), on
one asyncio loop in a background thread: one thread serves thousands of concurrent streams,
and every fault (a delay, a trickle, a cut) is a cancellable ``await``, so `stop` ends open
streams at once. Never expose it beyond 127.0.0.1 and never use it in production.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from types import TracebackType
from typing import Any

import h11

from langchain_glm.testing._replies import Plan, RecordedRequest
from langchain_glm.testing._service import GLMService, phrase

LOOPBACK_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}
"""Hosts the server may bind to, and the address each one binds."""


def parse_json(body: bytes) -> Any:
    """The JSON value of a body, or ``None`` when it is empty or not JSON."""
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


class GLMServer(GLMService):
    """`GLMService` (all the scripting) served over HTTP on 127.0.0.1 (see the package docs)."""

    def __init__(self, *, port: int = 0, host: str = "127.0.0.1", **options: Any) -> None:
        """Configure the server; nothing listens until `start` or ``with``.

        Args:
            port: TCP port; 0 picks a free one.
            host: ``127.0.0.1`` (default), ``localhost`` or ``::1``; nothing else is allowed.
            **options: `GLMService` options: ``api_key``, ``models``, ``validate``.

        Raises:
            ValueError: If ``host`` is not a loopback host.
        """
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"GLMServer binds to loopback only, not {host!r}")
        super().__init__(**options)
        self._address = (LOOPBACK_HOSTS[host], port)
        self._port = self._connections = 0
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return f"GLMServer(url={self.url!r})" if self._thread else "GLMServer(stopped)"

    @property
    def port(self) -> int:
        """The bound TCP port (0 before the server starts)."""
        return self._port

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:53011``; `RuntimeError` when not running."""
        if not self._thread:
            raise RuntimeError("GLMServer is not running; use `with GLMServer() as server:`")
        host = f"[{self._address[0]}]" if ":" in self._address[0] else self._address[0]
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        """Base URL for ``ChatGLM(base_url=...)``: ``<url>/api/paas/v4``."""
        return f"{self.url}/api/paas/v4"

    def start(self) -> GLMServer:
        """Listen (`OSError` if the port is taken) and serve in a thread; returns the server."""
        if self._thread is not None:
            raise RuntimeError("GLMServer is already running")
        family = socket.AF_INET6 if ":" in self._address[0] else socket.AF_INET
        sock = socket.create_server(self._address, family=family, backlog=4096)
        self._port = sock.getsockname()[1]
        self._stop = asyncio.new_event_loop().create_future()
        self._thread = threading.Thread(target=self._run, args=(sock, self._stop), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listener and every connection, and join the thread (idempotent)."""
        if self._thread is not None and self._stop is not None:
            stop = self._stop
            stop.get_loop().call_soon_threadsafe(stop.set_result, None)
            self._thread.join()
            self._thread = None

    def __enter__(self) -> GLMServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> GLMServer:
        return self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)

    def _run(self, sock: socket.socket, stop: asyncio.Future[None]) -> None:
        """Thread body: serve until `stop`, then cancel every connection."""
        tasks: set[asyncio.Task[None]] = set()

        def track(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.ensure_future(self._connection(reader, writer))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        async def serve() -> None:
            server = await asyncio.start_server(track, sock=sock)
            await stop
            server.close()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        loop = stop.get_loop()
        loop.run_until_complete(serve())
        loop.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one connection until it closes, keep-alive ends or `stop`."""
        self._connections += 1
        conn, cid = h11.Connection(h11.SERVER), self._connections
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
    """Read one request off a connection; ``None`` when the client closed it."""
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
            path, _, query = head.target.decode().partition("?")
            headers = {k.decode(): v.decode() for k, v in head.headers}  # h11 lower-cases names
            method, data = head.method.decode(), bytes(body)
            return RecordedRequest(method, path, headers, parse_json(data), data, cid, query)


async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, plan: Plan) -> bool:
    """Carry out a plan on a connection; returns whether it can serve another request."""
    if plan.delay > 0:
        await asyncio.sleep(plan.delay)
    if plan.disconnect:
        return False
    headers = [*plan.header_list(), ("Connection", "keep-alive")]  # h11 says close if needed
    head = h11.Response(status_code=plan.status, headers=headers, reason=phrase(plan.status))
    writer.write(conn.send(head) or b"")
    chunked = plan.length is None and conn.their_http_version == b"1.1"
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
