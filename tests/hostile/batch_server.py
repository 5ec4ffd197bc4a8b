"""A hostile Batch API on the raw-socket server: routes scripted per test, wire format by hand.

Everything here is written from GLM's documented format
(https://docs.bigmodel.cn/cn/guide/tools/batch), not from `langchain_glm.batch`: the batch
objects, result lines and `custom_id`s are built by hand, so the client cannot share a bug
with them.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

from tests.hostile import server as s
from tests.hostile.server import Play, Writer

TOKEN = "a1b2c3d4e5f60718"
"""The client token of the jobs the tests resume by id."""
PREFIX = "/api/paas/v4/"


def cid(index: int, token: str = TOKEN) -> str:
    """The custom_id langchain-glm gives input `index` of job `token`."""
    return f"lcg-{token}-{index:06d}"


def meta(start: int, count: int, token: str = TOKEN) -> dict[str, str]:
    """Batch metadata as langchain-glm records it at create."""
    return {
        "langchain_glm_token": token,
        "langchain_glm_start": str(start),
        "langchain_glm_count": str(count),
    }


def batch(
    bid: str = "batch_1",
    status: str = "completed",
    *,
    start: int = 0,
    count: int = 3,
    out: str | None = "file_out",
    err: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A batch object as GLM sends it."""
    return {
        "id": bid,
        "object": "batch",
        "endpoint": "/v4/chat/completions",
        "status": status,
        "input_file_id": "file_in",
        "output_file_id": out,
        "error_file_id": err,
        "request_counts": {"total": count, "completed": count, "failed": 0},
        "metadata": meta(start, count),
        **extra,
    }


def answer(text: str) -> dict[str, Any]:
    """A chat.completion body."""
    message = {"role": "assistant", "content": text}
    return {**s.REPLY, "choices": [{"index": 0, "finish_reason": "stop", "message": message}]}


def line(line_id: str, body: Any = None, status: Any = 200) -> dict[str, Any]:
    """One result line: `{"response": {"status_code", "body"}, "custom_id", "id"}`."""
    body = answer(f"answer {line_id}") if body is None else body
    return {"response": {"status_code": status, "body": body}, "custom_id": line_id, "id": "b"}


def failed(line_id: str, code: str = "1302", status: int = 429) -> dict[str, Any]:
    """An error-file line."""
    return line(line_id, {"error": {"code": code, "message": "busy"}}, status)


def jsonl(*lines: dict[str, Any] | bytes) -> bytes:
    """A result file."""
    return b"".join((x if isinstance(x, bytes) else json.dumps(x).encode()) + b"\n" for x in lines)


def request_json(raw: bytes) -> Any:
    """The JSON body of a raw request."""
    return json.loads(raw.partition(b"\r\n\r\n")[2] or b"null")


def upload_of(raw: bytes) -> tuple[str, int]:
    """(filename, size in bytes) of the file in a raw multipart `POST files` request."""
    body = raw.partition(b"\r\n\r\n")[2]
    found = re.search(rb'name="file"; filename="([^"]*)"\r\n[^\r]*\r\n\r\n', body)
    assert found, "no file part in the upload"
    boundary = body.split(b"\r\n", 1)[0]
    content = body[found.end() :].split(b"\r\n" + boundary, 1)[0]
    return found[1].decode(), len(content)


def file_object(file_id: str, filename: str, size: int) -> dict[str, Any]:
    """A file object as `GET files` lists it."""
    return {"id": file_id, "object": "file", "bytes": size, "created_at": 1, "filename": filename,
            "purpose": "batch"}  # fmt: skip


def cut_then_reset(status: int, content: bytes, sent: int) -> Play:
    """Announce `content`, send only its first `sent` bytes, then reset the connection."""

    async def play(w: Writer, raw: bytes) -> bool:
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(content))}
        w.write(s.head(status, headers) + content[:sent])
        await w.drain()
        await s.reset(w)
        return False

    return play


def reset_now() -> Play:
    """Reset the connection without answering."""

    async def play(w: Writer, raw: bytes) -> bool:
        await s.reset(w)
        return False

    return play


def stall_reply() -> Play:
    """Answer nothing for 30 s (until the client gives up)."""

    async def play(w: Writer, raw: bytes) -> bool:
        await s.stall(w)
        return False

    return play


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed (about 1,000 times smaller), made piece by piece."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    parts = [packer.compress(zeros) for _ in range(size >> 20)]
    return b"".join([*parts, packer.flush()])


class Routes:
    """Answers by `METHOD path` (path under the API base, query dropped).

    Attributes:
        table: Plays per route, used in order; the last one repeats.
        seen: `METHOD path` of every request, in order.
        targets: The request target (path and query) of every request, in order.
        bodies: Raw bodies of every request, in order.
    """

    def __init__(self) -> None:
        self.table: dict[str, list[Play]] = {}
        self.seen: list[str] = []
        self.targets: list[str] = []
        self.bodies: list[bytes] = []

    def on(self, route: str, *plays: Play | dict[str, Any] | list[Any]) -> Routes:
        """Script a route; a dict or list is sent as a 200 JSON reply."""
        self.table.setdefault(route, []).extend(
            p if callable(p) else s.json_reply(p) for p in plays
        )
        return self

    def count(self, route: str) -> int:
        """How many requests a route got."""
        return self.seen.count(route)

    async def __call__(self, w: Writer, raw: bytes) -> bool:
        request_line = raw.split(b"\r\n", 1)[0].decode("latin-1")
        method, target = request_line.split(" ")[:2]
        route = f"{method} {target.removeprefix(PREFIX).split('?')[0]}"
        self.seen.append(route)
        self.targets.append(target)
        self.bodies.append(raw.partition(b"\r\n\r\n")[2])
        plays = self.table.get(route)
        if not plays:
            missing = {"error": {"code": "1222", "message": f"no route {route}"}}
            return await s.json_reply(missing, 404)(w, raw)
        play = plays.pop(0) if len(plays) > 1 else plays[0]
        return await play(w, raw)

    def sent_ids(self) -> Iterator[str]:
        """The custom_ids of every uploaded batch file."""
        for body in self.bodies:
            yield from re.findall(r'"custom_id":"([^"]+)"', body.decode("utf-8", "replace"))

    def stored_then_lost(self, file_id: str, *, before: int = 0) -> Play:
        """Answer `POST files` with a 502 after storing the upload: `GET files` then lists it.

        The listing has `before` other files first (on a first page of that many, with
        `has_more`), and the stored file as GLM lists it: `id`, `filename`, `bytes`.
        """

        async def play(w: Writer, raw: bytes) -> bool:
            name, size = upload_of(raw)
            others = [file_object(f"file_other{n}", f"other-{n}.jsonl", 10) for n in range(before)]
            pages = [others] if others else []
            pages.append(
                [file_object("file_same_name", name, size + 1), file_object(file_id, name, size)]
            )
            for n, page in enumerate(pages):
                self.on(
                    "GET files", {"object": "list", "data": page, "has_more": n < len(pages) - 1}
                )
            lost = {"error": {"code": "500", "message": "bad gateway"}}
            return await s.json_reply(lost, 502)(w, raw)

        return play

    def created(self, bid: str, status: str = "validating") -> Play:
        """Answer `POST batches` with a batch holding the metadata the client sent."""

        async def play(w: Writer, raw: bytes) -> bool:
            sent = request_json(raw)
            made = {**batch(bid, status, out=None), "metadata": sent["metadata"]}
            return await s.json_reply(made)(w, raw)

        return play

    def answered(self, bid: str, out: str = "file_out") -> Play:
        """Answer `GET batches/{bid}` as completed, with the metadata of the last create."""

        async def play(w: Writer, raw: bytes) -> bool:
            creates = [
                b for r, b in zip(self.seen, self.bodies, strict=True) if r == "POST batches"
            ]
            sent = json.loads(creates[-1])
            done = {**batch(bid, out=out), "metadata": sent["metadata"]}
            return await s.json_reply(done)(w, raw)

        return play

    def output(self) -> Play:
        """A result file answering every custom_id uploaded so far with `answer <id>`."""

        async def play(w: Writer, raw: bytes) -> bool:
            content = jsonl(*(line(i) for i in self.sent_ids()))
            return await s.body(200, content, "application/octet-stream")(w, raw)

        return play
