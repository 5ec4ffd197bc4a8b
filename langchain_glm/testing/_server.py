"""`GLMServer`: `GLMService` over real HTTP/1.1 on the loopback interface, for tests.

HTTP is h11's (https://h11.readthedocs.io; httpx already depends on it through httpcore), on
one asyncio loop in a background thread: one thread serves thousands of concurrent streams,
and every fault (a delay, a trickle, a cut) is a cancellable ``await``, so `stop` ends open
streams at once. The test thread scripts replies through the lock-protected `GLMService`.
A test tool: never expose it beyond 127.0.0.1 and never use it in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from types import TracebackType
from typing import Any

import h11

from langchain_glm.testing._replies import RecordedRequest
from langchain_glm.testing._service import GLMService, Plan, phrase

LOOPBACK_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}
"""Hosts the server may bind to, and the address each one binds."""


def parse_json(body: bytes) -> Any:
    """The JSON value of a body, or ``None`` when it is empty or not JSON."""
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


async def _read(
    conn: h11.Connection, reader: asyncio.StreamReader, cid: int
) -> RecordedRequest | None:
    """Read one request off a connection; ``None`` when the client closed it."""
    head: h11.Request | None = None
    body: list[bytes] = []
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(65536))
        elif isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body.append(event.data)
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            path, _, query = head.target.decode().partition("?")
            headers = {k.decode().lower(): v.decode() for k, v in head.headers}
            data = b"".join(body)
            method = head.method.decode().upper()
            return RecordedRequest(method, path, headers, parse_json(data), data, cid, query)
        else:
            return None


class GLMServer(GLMService):
    """A local HTTP server speaking GLM's chat-completions protocol, scripted by the test.

    Scripting (`reply`, `reply_error`, `reply_raw`, `script`, `requests`, ...) is `GLMService`'s.

    Example:
        ```python
        import httpx

        from langchain_glm.testing import GLMServer

        with GLMServer() as server:
            server.reply(text="Hi!", reasoning="Greet back.")
            body = {"model": "glm-4.6", "messages": [{"role": "user", "content": "hello"}]}
            url = server.base_url + "/chat/completions"
            answer = httpx.post(url, json=body, headers={"Authorization": "Bearer k"}).json()
            assert answer["choices"][0]["message"]["content"] == "Hi!"
        ```
    """

    def __init__(self, *, port: int = 0, host: str = "127.0.0.1", **options: Any) -> None:
        """Configure the server; nothing starts until `start` or ``with``.

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
        self._bind, self._wanted_port, self._port = LOOPBACK_HOSTS[host], port, 0
        self._connections = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    def __repr__(self) -> str:
        return f"GLMServer(url={self.url!r})" if self._thread else "GLMServer(stopped)"

    @property
    def port(self) -> int:
        """The bound TCP port (0 before the server starts)."""
        return self._port

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:53011``.

        Raises:
            RuntimeError: If the server is not running.
        """
        if not self._thread:
            raise RuntimeError("GLMServer is not running; use `with GLMServer() as server:`")
        host = f"[{self._bind}]" if ":" in self._bind else self._bind
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        """Base URL for ``ChatGLM(base_url=...)``: ``<url>/api/paas/v4``."""
        return f"{self.url}/api/paas/v4"

    def start(self) -> GLMServer:
        """Start serving in a background thread; returns once the port is listening.

        Returns:
            The server itself.

        Raises:
            RuntimeError: If it is already running.
            OSError: If the port cannot be bound.
        """
        if self._thread is not None:
            raise RuntimeError("GLMServer is already running")
        self._ready.clear()
        self._failure = None
        self._thread = threading.Thread(target=self._run, name="GLMServer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            self._thread = None
            raise self._failure
        return self

    def stop(self) -> None:
        """Close the listener and every connection, and join the thread (idempotent)."""
        thread, loop, event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop may have just closed
                loop.call_soon_threadsafe(event.set)
        thread.join()
        self._thread = self._loop = None

    def __enter__(self) -> GLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> GLMServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def _run(self) -> None:
        """Thread body: run the loop, reporting a startup failure to `start`."""
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failure = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        """Listen until `stop`, then cancel every connection."""
        self._loop, self._stop_event = asyncio.get_running_loop(), asyncio.Event()
        server = await asyncio.start_server(
            self._connection, self._bind, self._wanted_port, backlog=4096
        )
        try:
            self._port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop_event.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one connection until it closes, keep-alive ends or `stop`."""
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - asyncio runs every callback in a task
        self._tasks.add(task)
        self._connections += 1
        conn, cid, stopping = h11.Connection(h11.SERVER), self._connections, False
        try:
            while (request := await _read(conn, reader, cid)) is not None:
                if not await _send(conn, writer, self.plan(request)):
                    break
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError):
            pass  # the client went away or spoke garbage: drop the connection
        except asyncio.CancelledError:
            stopping = True  # `stop`: ending normally keeps asyncio's stream callback quiet
        finally:
            self._tasks.discard(task)
            writer.transport.abort() if stopping else writer.close()


async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, plan: Plan) -> bool:
    """Carry out a plan on a connection; returns whether it can serve another request."""
    if plan.delay > 0:
        await asyncio.sleep(plan.delay)
    if plan.disconnect:
        return False
    headers = [*plan.header_list(), ("Connection", "keep-alive")]
    reason = phrase(plan.status).encode()
    writer.write(conn.send(h11.Response(status_code=plan.status, headers=headers, reason=reason)))
    for gap, piece in plan.paced():
        if gap > 0:
            await writer.drain()
            await asyncio.sleep(gap)
        writer.write(conn.send(h11.Data(data=piece)) or b"")
    if plan.complete:
        writer.write(conn.send(h11.EndOfMessage()) or b"")
    await writer.drain()
    return plan.complete and conn.our_state is h11.DONE
