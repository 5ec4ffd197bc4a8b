"""`GLMServer`: a scripted, GLM-compatible HTTP server on the loopback interface, for tests.

The server runs an asyncio loop in a background thread. The test thread scripts replies and
reads recorded requests; both sides share a lock-protected queue and request list. A test tool:
never expose it beyond 127.0.0.1 and never use it in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from langchain_glm.testing._http import (
    LAST_CHUNK,
    HTTPError,
    chunk,
    read_request,
    reason,
    response_head,
)
from langchain_glm.testing._replies import (
    ErrorReply,
    RawReply,
    RecordedRequest,
    Reply,
    Script,
    default_reply,
)
from langchain_glm.testing._validate import check_auth, check_body
from langchain_glm.testing._wire import (
    Turn,
    completion_payload,
    dumps,
    error_payload,
    html_page,
    stream_events,
    tokenizer_payload,
)

DEFAULT_MODELS = (
    "glm-4.6",
    "glm-4.5",
    "glm-4.5-air",
    "glm-4.5-x",
    "glm-4.5-airx",
    "glm-4.5-flash",
    "glm-4-32b-0414-128k",
    "glm-4.6v",
    "glm-4.6v-flash",
    "glm-4.5v",
    "glm-4.7",
    "glm-4.7-flash",
)
"""Model ids a server knows unless given ``models=``."""

CHAT_PATHS = frozenset(
    {
        "/api/paas/v4/chat/completions",
        "/api/coding/paas/v4/chat/completions",
        "/v1/chat/completions",
    }
)
"""Paths that serve chat completions."""

TOKENIZER_PATHS = frozenset(path.replace("chat/completions", "tokenizer") for path in CHAT_PATHS)
"""Paths that count tokens (`POST {base}/tokenizer`); every other path answers 404."""

LOOPBACK_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}
"""Hosts the server may bind to, and the address each one binds."""

_JSON = "application/json; charset=UTF-8"
_SSE = "text/event-stream;charset=UTF-8"
_Answer = Reply | ErrorReply | RawReply
_Queued = _Answer | Script


def _seconds(value: float) -> str:
    """Format seconds for a ``Retry-After`` header.

    Args:
        value: Seconds.

    Returns:
        An integer string for whole numbers (``"2"``), else the decimal (``"0.25"``).
    """
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class GLMServer:
    """A local HTTP server speaking GLM's chat-completions protocol, scripted by the test.

    Example:
        .. code-block:: python

            with GLMServer() as server:
                server.reply(text="Hi!", reasoning="Greet back.")
                # ChatGLM(base_url=server.base_url, api_key="test").invoke("hello")
                assert server.requests[-1].json["messages"][-1]["content"] == "hello"
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        validate: bool = True,
    ) -> None:
        """Configure the server; nothing starts until `start` or ``with``.

        Args:
            port: TCP port; 0 picks a free one.
            host: ``127.0.0.1`` (default), ``localhost`` or ``::1``; nothing else is allowed.
            api_key: Accept only this bearer key (or a valid JWT made from an ``id.secret``
                key); ``None`` accepts any non-empty key.
            models: Model ids to accept (default `DEFAULT_MODELS`).
            validate: Check request bodies as the service does (turn off to let anything in).

        Raises:
            ValueError: If ``host`` is not a loopback host.
        """
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"GLMServer binds to loopback only, not {host!r}")
        self._bind = LOOPBACK_HOSTS[host]
        self._wanted_port = port
        self._port = 0
        self._api_key = api_key
        self.models: frozenset[str] = frozenset(DEFAULT_MODELS if models is None else models)
        """Model ids the server accepts."""
        self.validate = validate
        """Whether request bodies are validated."""
        self._lock = threading.Lock()
        self._queue: deque[_Queued] = deque()
        self._script: Script | None = None
        self._requests: list[RecordedRequest] = []
        self._script_errors: list[Exception] = []
        self._seq = 0
        self._connections = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._stopping = False

    def __repr__(self) -> str:
        state = f"url={self.url!r}" if self._thread else "stopped"
        return f"GLMServer({state})"

    # ----------------------------------------------------------------- addresses and records

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

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received since start or `reset`, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request.

        Raises:
            LookupError: If no request has been received.
        """
        with self._lock:
            if not self._requests:
                raise LookupError("GLMServer has not received any request")
            return self._requests[-1]

    @property
    def pending(self) -> int:
        """How many queued replies have not been served yet."""
        with self._lock:
            return len(self._queue)

    @property
    def script_errors(self) -> list[Exception]:
        """Exceptions raised by scripts (each was answered with HTTP 500, code ``"500"``)."""
        with self._lock:
            return list(self._script_errors)

    # ----------------------------------------------------------------------------- scripting

    def reply(
        self,
        text: str = "",
        *,
        reasoning: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        usage: dict[str, int] | None = None,
        finish_reason: str | None = None,
        web_search: list[dict[str, Any]] | None = None,
        content_filter: list[dict[str, Any]] | None = None,
        model: str | None = None,
        chunk_size: int = 8,
        include_object: bool = False,
        delay_before_headers: float = 0.0,
        trickle: float = 0.0,
        cut_after: int | None = None,
        disconnect: bool = False,
        stream_error: dict[str, Any] | None = None,
        stream_error_after: int = 0,
        malformed_after: int | None = None,
        times: int = 1,
    ) -> Reply:
        """Queue an assistant reply; every argument is the `Reply` field of the same name.

        Args:
            text: Assistant content.
            reasoning: Reasoning content (dropped when the request disables thinking).
            tool_calls: ``[{"name": ..., "arguments": dict | str, "id"?: ...}]``.
            usage: Token counts (``prompt_tokens``, ``completion_tokens``, ``cached_tokens``,
                ``reasoning_tokens``); missing ones are derived from text lengths.
            finish_reason: Default ``"tool_calls"`` with tool calls, else ``"stop"``.
            web_search: Top-level ``web_search`` results.
            content_filter: Top-level ``content_filter`` entries.
            model: Model echoed back (default: the requested one).
            chunk_size: Characters per stream frame.
            include_object: Add the 2026-era ``object`` field.
            delay_before_headers: Seconds before the status line.
            trickle: Seconds between stream frames.
            cut_after: Drop the connection after this many frames (non-stream: mid-body).
            disconnect: Drop the connection without any response.
            stream_error: In-stream ``{"error": ...}`` frame (non-stream: 200 error body).
            stream_error_after: Frames before the error frame.
            malformed_after: Broken-JSON frame after this many frames (non-stream: bad body).
            times: Queue the reply this many times.

        Returns:
            The queued reply.
        """
        reply = Reply(
            text=text,
            reasoning=reasoning,
            tool_calls=tool_calls,
            usage=usage,
            finish_reason=finish_reason,
            web_search=web_search,
            content_filter=content_filter,
            model=model,
            chunk_size=chunk_size,
            include_object=include_object,
            delay_before_headers=delay_before_headers,
            trickle=trickle,
            cut_after=cut_after,
            disconnect=disconnect,
            stream_error=stream_error,
            stream_error_after=stream_error_after,
            malformed_after=malformed_after,
        )
        self.enqueue(*[reply] * times)
        return reply

    def reply_error(
        self,
        status: int,
        code: str,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        html: bool = False,
        delay_before_headers: float = 0.0,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> ErrorReply:
        """Queue an error response with GLM's ``{"error": {"code", "message"}}`` body.

        Args:
            status: HTTP status, e.g. 429.
            code: Business code as a string, e.g. ``"1302"``.
            message: Message; ``None`` uses the real one for well-known codes.
            retry_after: Seconds for a ``Retry-After`` header.
            html: Send an HTML error page instead of JSON.
            delay_before_headers: Seconds before the status line.
            headers: Extra response headers.
            times: Queue the error this many times.

        Returns:
            The queued error reply.
        """
        error = ErrorReply(
            status=status,
            code=code,
            message=message,
            retry_after=retry_after,
            html=html,
            delay_before_headers=delay_before_headers,
            headers=headers,
        )
        self.enqueue(*[error] * times)
        return error

    def reply_raw(
        self,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str | None = None,
        times: int = 1,
    ) -> RawReply:
        """Queue a response body served byte for byte (replay a real capture).

        Args:
            body: The exact body (str is UTF-8 encoded): a JSON document, or SSE frames.
            status: HTTP status.
            content_type: ``Content-Type``; by default SSE when the body starts with ``data:``.
            times: Queue it this many times.

        Returns:
            The queued raw reply.
        """
        raw = RawReply(
            body=body.encode() if isinstance(body, str) else body,
            status=status,
            content_type=content_type,
        )
        self.enqueue(*[raw] * times)
        return raw

    def enqueue(self, *items: _Queued) -> None:
        """Queue prepared replies, error replies or one-shot scripts, served in order.

        Args:
            *items: What to serve to the next valid chat requests, one item each. A script is
                called with the `RecordedRequest` and returns a `Reply` or `ErrorReply`.
        """
        with self._lock:
            self._queue.extend(items)

    def script(self, fn: Script | None) -> None:
        """Decide every reply with ``fn`` while the queue is empty (``None`` restores the default).

        Args:
            fn: Called with each `RecordedRequest`; returns a `Reply` or `ErrorReply`.
        """
        with self._lock:
            self._script = fn

    def reset(self) -> None:
        """Forget queued replies, the script, recorded requests and script errors; restart ids."""
        with self._lock:
            self._queue.clear()
            self._script = None
            self._requests.clear()
            self._script_errors.clear()
            self._seq = 0

    # ----------------------------------------------------------------------------- lifecycle

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
        self._stopping = False
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
        self._stopping = True
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop may have just closed
                loop.call_soon_threadsafe(event.set)
        thread.join()
        self._thread = None
        self._loop = None

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
        """Thread body: run the server loop, reporting a startup failure to `start`."""
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failure = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        """Listen until `stop`, then cancel connection tasks and close everything."""
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        server = await asyncio.start_server(
            self._on_connection, self._bind, self._wanted_port, backlog=2048
        )
        try:
            self._port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop_event.wait()
        finally:
            server.close()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()

    # ---------------------------------------------------------------------------- connections

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve requests on one connection until it closes, keep-alive ends or `stop`.

        Args:
            reader: The connection's reader.
            writer: The connection's writer.
        """
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        with self._lock:
            self._connections += 1
            connection_id = self._connections
        try:
            keep_alive = True
            while keep_alive and not self._stopping:
                received = await read_request(reader, connection_id)
                if received is None:
                    break
                keep_alive = await self._respond(*received, writer)
        except (ConnectionError, asyncio.IncompleteReadError, HTTPError):
            pass  # the client went away or spoke garbage: drop the connection
        except asyncio.CancelledError:
            pass  # `stop` cancelled us; ending normally keeps asyncio's stream callback quiet
        finally:
            if task is not None:
                self._tasks.discard(task)
            await self._close(writer)

    async def _close(self, writer: asyncio.StreamWriter) -> None:
        """Close a connection: flush it normally, or drop it at once when stopping.

        Args:
            writer: The connection's writer.
        """
        if self._stopping:
            writer.transport.abort()
        else:
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 5)

    async def _respond(
        self, recorded: RecordedRequest, keep_alive: bool, writer: asyncio.StreamWriter
    ) -> bool:
        """Record and answer one request.

        Args:
            recorded: The request.
            keep_alive: Whether the client allows another request on this connection.
            writer: The connection's writer.

        Returns:
            Whether the connection can serve another request.
        """
        with self._lock:
            seq = self._seq
            self._seq += 1
            self._requests.append(recorded)
        answer = self._decide(recorded)
        if answer.delay_before_headers > 0:
            await asyncio.sleep(answer.delay_before_headers)
        if isinstance(answer, ErrorReply):
            return await self._send_error(writer, answer, keep_alive)
        if isinstance(answer, RawReply):
            return await self._send_raw(writer, answer, keep_alive)
        if answer.disconnect:
            return False
        return await self._send_reply(
            writer, answer, Turn.from_body(recorded.json, seq), keep_alive
        )

    # -------------------------------------------------------------------------- deciding

    def _decide(self, recorded: RecordedRequest) -> _Answer:
        """Route, authenticate and validate a request, then pick its scripted reply.

        Args:
            recorded: The recorded request.

        Returns:
            The error the service would send, or the reply to serve.
        """
        if recorded.path not in CHAT_PATHS | TOKENIZER_PATHS:
            return ErrorReply(404, "1222", f"API does not exist: {recorded.path}")
        if recorded.method != "POST":
            return ErrorReply(405, "1222", f"Method {recorded.method} is not allowed, use POST")
        error = check_auth(recorded.headers, self._api_key)
        if error is None and self.validate:
            error = check_body(recorded.json, self.models)
        if error is None and not isinstance(recorded.json, dict):
            error = ErrorReply(400, "1210")
        if error is None and recorded.path in TOKENIZER_PATHS:
            with self._lock:
                seq = len(self._requests)
            return RawReply(body=tokenizer_payload(recorded.json, seq))
        return error or self._next_reply(recorded)

    def _next_reply(self, recorded: RecordedRequest) -> _Answer:
        """Take the next queued item, else the script, else the default reply.

        Args:
            recorded: The recorded request (passed to scripts).

        Returns:
            The reply; a 500 error reply when a script raised or returned something else.
        """
        with self._lock:
            item = self._queue.popleft() if self._queue else self._script
        if item is None:
            return default_reply(recorded)
        if isinstance(item, (Reply, ErrorReply, RawReply)):
            return item
        try:
            answer = item(recorded)
            if not isinstance(answer, (Reply, ErrorReply, RawReply)):
                raise TypeError(f"script returned {answer!r}, not a Reply or ErrorReply")
        except Exception as exc:
            with self._lock:
                self._script_errors.append(exc)
            return ErrorReply(500, "500", f"GLMServer script raised {type(exc).__name__}: {exc}")
        return answer

    # --------------------------------------------------------------------------- sending

    async def _send_error(self, writer: asyncio.StreamWriter, e: ErrorReply, keep: bool) -> bool:
        """Send an error response (JSON body or HTML page) with its headers.

        Args:
            writer: The connection's writer.
            e: The error reply.
            keep: Whether the client allows keep-alive.

        Returns:
            Whether the connection can serve another request.
        """
        if e.html:
            body, ctype = html_page(e.status, reason(e.status), e.message), "text/html"
        else:
            body, ctype = dumps(error_payload(e.code, e.message)), "application/json"
        headers = {"Content-Type": ctype, "Content-Length": str(len(body))}
        if e.retry_after is not None:
            headers["Retry-After"] = _seconds(e.retry_after)
        headers.update(e.headers or {})
        writer.write(response_head(e.status, headers, keep_alive=keep) + body)
        await writer.drain()
        return keep

    @staticmethod
    async def _send_raw(writer: asyncio.StreamWriter, raw: RawReply, keep: bool) -> bool:
        """Send a raw body as given.

        Args:
            writer: The connection's writer.
            raw: The raw reply.
            keep: Whether the client allows keep-alive.

        Returns:
            Whether the connection can serve another request.
        """
        ctype = raw.content_type or (_SSE if raw.body.lstrip().startswith(b"data:") else _JSON)
        headers = {"Content-Type": ctype, "Content-Length": str(len(raw.body))}
        writer.write(response_head(raw.status, headers, keep_alive=keep) + raw.body)
        await writer.drain()
        return keep

    async def _send_reply(
        self, writer: asyncio.StreamWriter, reply: Reply, turn: Turn, keep: bool
    ) -> bool:
        """Send a reply as JSON or as chunked SSE, applying its faults.

        Args:
            writer: The connection's writer.
            reply: The reply.
            turn: The request it answers.
            keep: Whether the client allows keep-alive.

        Returns:
            Whether the connection can serve another request.
        """
        if turn.stream:
            events, complete = stream_events(reply, turn)
            headers = {"Content-Type": _SSE, "Cache-Control": "no-cache"}
            headers["Transfer-Encoding"] = "chunked"
            writer.write(response_head(200, headers, keep_alive=keep))
            await self._write_events(writer, events, reply.trickle)
            if complete:
                writer.write(LAST_CHUNK)
        else:
            body = completion_payload(reply, turn)
            headers = {"Content-Type": _JSON, "Content-Length": str(len(body))}
            complete = reply.cut_after is None
            writer.write(response_head(200, headers, keep_alive=keep))
            writer.write(body if complete else body[: len(body) // 2])
        await writer.drain()
        return keep and complete

    @staticmethod
    async def _write_events(writer: asyncio.StreamWriter, events: list[bytes], gap: float) -> None:
        """Write SSE events as HTTP chunks: all at once, or ``gap`` seconds apart.

        Args:
            writer: The connection's writer.
            events: Encoded SSE events.
            gap: Seconds between events (0: one write).
        """
        if gap <= 0:
            writer.write(b"".join(chunk(event) for event in events))
            return
        for index, event in enumerate(events):
            if index:
                await asyncio.sleep(gap)
            writer.write(chunk(event))
            await writer.drain()
