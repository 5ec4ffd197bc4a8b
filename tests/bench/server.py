"""A fast loopback GLM chat-completions server for the benchmark (stdlib asyncio only).

The bundled test server (`langchain_glm.testing.GLMServer`) checks every request and scripts
replies, which is right for tests but makes it the slowest part of a benchmark. This one
answers `POST .../chat/completions` whose last message says `chunks=N` with N text chunks of
4 characters (one SSE frame each, one HTTP chunk per frame, then usage and `[DONE]`, GLM's
stream shape: https://docs.z.ai/api-reference/llm/chat-completion), or with the joined text
when the body has no `"stream": true`. Replies are built once per size and cached, so a
request costs one small JSON parse and one write. `,burst=B,interval=MS` paces a stream: B
frames per write, MS milliseconds apart. Keep-alive, 127.0.0.1 only.

    python -m tests.bench.server     # prints the base URL, serves until stdin closes
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import threading

_ID = "20251202benchmark0000000000000"


def _frame(content: str, finish: str | None = None, usage: object = None) -> bytes:
    """One SSE frame as one HTTP chunk."""
    choice: dict[str, object] = {"index": 0, "delta": {"role": "assistant", "content": content}}
    body: dict[str, object] = {"id": _ID, "created": 1764700000, "model": "glm-4.6"}
    if finish:
        choice["finish_reason"] = finish
    body["choices"] = [choice]
    if usage:
        body["usage"] = usage
    data = b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


_USAGE = {"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13}
_TEXT = _frame("abcd")
_LAST = _frame("", "stop", _USAGE)
_DONE = b"data: [DONE]\n\n"
_END = b"%x\r\n%s\r\n0\r\n\r\n" % (len(_DONE), _DONE)
_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\n%s\r\n"


@functools.lru_cache(maxsize=64)
def _reply(chunks: int, stream: bool) -> bytes:
    """The whole response (head and body) for `chunks=N`."""
    if stream:
        head = _HEAD % (b"text/event-stream", b"Transfer-Encoding: chunked\r\n")
        return head + _TEXT * chunks + _LAST + _END
    message = {"role": "assistant", "content": "abcd" * chunks}
    choice = {"index": 0, "finish_reason": "stop", "message": message}
    reply = {"id": _ID, "created": 1764700000, "model": "glm-4.6", "choices": [choice]}
    body = json.dumps({**reply, "usage": _USAGE}, separators=(",", ":")).encode()
    return _HEAD % (b"application/json", b"Content-Length: %d\r\n" % len(body)) + body


def _settings(body: bytes) -> tuple[int, bool, int, float]:
    """`(chunks, stream, burst, interval seconds)` from a request body."""
    request = json.loads(body)
    said = dict(part.split("=") for part in request["messages"][-1]["content"].split(","))
    burst, interval = int(said.get("burst", 0)), float(said.get("interval", 0)) / 1000
    return int(said["chunks"]), bool(request.get("stream")), burst, interval


class _Connection(asyncio.Protocol):
    """One keep-alive connection: parse requests with a Content-Length body, answer each."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            size = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + size:
                return
            body, self.buffer = self.buffer[end + 4 : end + 4 + size], self.buffer[end + 4 + size :]
            self._answer(*_settings(body))

    def _answer(self, chunks: int, stream: bool, burst: int, interval: float) -> None:
        assert self.transport is not None
        if not (stream and burst):
            self.transport.write(_reply(chunks, stream))
            return
        asyncio.get_running_loop().create_task(self._paced(chunks, burst, interval))

    async def _paced(self, chunks: int, burst: int, interval: float) -> None:
        assert self.transport is not None
        self.transport.write(_HEAD % (b"text/event-stream", b"Transfer-Encoding: chunked\r\n"))
        for sent in range(0, chunks, burst):
            self.transport.write(_TEXT * min(burst, chunks - sent))
            await asyncio.sleep(interval)
        self.transport.write(_LAST + _END)


async def _serve(ready: asyncio.Future[str]) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Connection, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    ready.set_result(f"http://127.0.0.1:{port}/api/paas/v4")
    stop = asyncio.Event()

    def wait_for_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    async with server:
        await stop.wait()


def main() -> None:
    """Serve until stdin closes; print the base URL first."""

    async def run() -> None:
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(_serve(ready))
        print(await ready, flush=True)
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
