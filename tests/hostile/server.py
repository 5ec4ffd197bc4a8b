"""A hostile HTTP/1.1 server on raw asyncio sockets, independent of `langchain_glm.testing`.

It shares no code with the package, so a framing bug in one cannot hide one in the other.
Each request is answered by the next scripted `Play` (an async function writing raw bytes);
the server counts accepted connections and requests, and supports keep-alive.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future
from typing import Any

Writer = asyncio.StreamWriter
Play = Callable[[Writer, bytes], Awaitable[bool]]
"""Writes one response to the raw request; returns True to keep the connection open."""


def frame(content: str = "", finish: str | None = None, **delta: Any) -> dict[str, Any]:
    """A chat-completion chunk as GLM streams it."""
    choice: dict[str, Any] = {
        "index": 0,
        "delta": {"role": "assistant", "content": content, **delta},
    }
    if finish:
        choice["finish_reason"] = finish
    return {"id": "h1", "model": "glm-4.6", "choices": [choice]}


def sse_body(frames: Iterable[dict[str, Any] | str], done: bool = True) -> bytes:
    """SSE bytes: dict frames as `data:` JSON, strings sent verbatim."""
    parts = [f if isinstance(f, str) else "data: " + json.dumps(f) + "\n\n" for f in frames]
    return ("".join(parts) + ("data: [DONE]\n\n" if done else "")).encode()


REPLY = {
    "id": "h1",
    "model": "glm-4.6",
    "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
TEXT = ["Hel", "lo, ", "wor", "ld"]
STREAM = sse_body([*(frame(t) for t in TEXT), frame("", finish="stop")])


def head(status: int, headers: dict[str, str]) -> bytes:
    """Status line and headers."""
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(piece: bytes) -> bytes:
    """One HTTP chunk."""
    return f"{len(piece):x}\r\n".encode() + piece + b"\r\n"


def body(status: int, content: bytes, ctype: str = "application/json", **extra: str) -> Play:
    """A complete response with Content-Length (keep-alive)."""

    async def play(w: Writer, raw: bytes) -> bool:
        headers = {"Content-Type": ctype, "Content-Length": str(len(content)), **extra}
        w.write(head(status, headers) + content)
        await w.drain()
        return True

    return play


def json_reply(obj: Any = REPLY, status: int = 200, gz: bool = False, **extra: str) -> Play:
    """A JSON response, optionally gzip-encoded."""
    raw = json.dumps(obj).encode()
    if gz:
        return body(status, gzip.compress(raw), **{"Content-Encoding": "gzip", **extra})
    return body(status, raw, **extra)


def stream(data: bytes = STREAM, splits: Iterable[int] = (), pause: float = 0.0) -> Play:
    """A chunked SSE response, its body cut at the given offsets into separate writes."""

    async def play(w: Writer, raw: bytes) -> bool:
        w.write(head(200, {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}))
        cuts = [0, *sorted(set(splits)), len(data)]
        for start, end in itertools.pairwise(cuts):
            if end > start:
                w.write(chunked(data[start:end]))
                await w.drain()
                await asyncio.sleep(pause)
        w.write(b"0\r\n\r\n")
        await w.drain()
        return True

    return play


def echo() -> Play:
    """Stream back the last user message of the request (to prove there is no cross-talk)."""

    async def play(w: Writer, raw: bytes) -> bool:
        request = json.loads(raw.partition(b"\r\n\r\n")[2])
        said = str(request["messages"][-1]["content"])
        return await stream(sse_body([frame(said), frame("", finish="stop")]))(w, raw)

    return play


def stream_then(data: bytes, then: Callable[[Writer], Awaitable[None]]) -> Play:
    """Send headers and `data` as one chunk, then do `then` (stall, cut, reset, ...)."""

    async def play(w: Writer, raw: bytes) -> bool:
        w.write(head(200, {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}))
        if data:
            w.write(chunked(data))
        await w.drain()
        await then(w)
        return False

    return play


async def stall(w: Writer) -> None:
    """Send nothing more (until the client gives up)."""
    await asyncio.sleep(30)


def trickle(every: float, piece: bytes = b" ") -> Callable[[Writer], Awaitable[None]]:
    """Send one byte every `every` seconds, as chunk bodies (never a complete event)."""

    async def run(w: Writer) -> None:
        for _ in range(600):
            w.write(chunked(piece))
            await w.drain()
            await asyncio.sleep(every)

    return run


def comments(every: float) -> Callable[[Writer], Awaitable[None]]:
    """Send only `: ping` comments (keep-alives), never an event."""
    return trickle(every, b": ping\n\n")


async def half_close(w: Writer) -> None:
    """Shut down our write side (FIN) mid-body, keep the socket open."""
    w.write_eof()
    await asyncio.sleep(5)


async def reset(w: Writer) -> None:
    """Abort with a TCP RST (SO_LINGER 0)."""
    sock = w.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    w.transport.abort()


def endless_error(status: int, size: int, piece: bytes = b"<p>" + b"x" * 65533) -> Play:
    """A huge HTML error page, generated as it is sent (Content-Length `size`)."""

    async def play(w: Writer, raw: bytes) -> bool:
        w.write(head(status, {"Content-Type": "text/html", "Content-Length": str(size)}))
        sent = 0
        try:
            while sent < size:
                w.write(piece)
                sent += len(piece)
                await w.drain()
        except ConnectionError:
            pass
        return False

    return play


class HostileServer:
    """Raw asyncio server on 127.0.0.1 in a background thread.

    Attributes:
        connections: TCP connections accepted.
        requests: Raw request heads and bodies received, in order.
        plays: Scripted responses, used in order; `default` once they run out.
    """

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []
        self.plays: list[Play] = []
        self.default: Play = stream()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()

    def __enter__(self) -> HostileServer:
        self._thread.start()
        future: Future[asyncio.Server] = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=2048), self._loop
        )
        self._server = future.result(5)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/api/paas/v4"
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _stop(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def script(self, *plays: Play) -> None:
        """Answer the next requests with these plays (thread-safe enough: list appends)."""
        self.plays.extend(plays)

    async def _serve(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: Writer) -> bool:
        """Read one request and answer it; False ends the connection."""
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        length = 0
        for line in raw.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        self.requests.append(raw + await reader.readexactly(length))
        play = self.plays.pop(0) if self.plays else self.default
        return await play(writer, self.requests[-1])
