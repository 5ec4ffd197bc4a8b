"""Embeddings benchmark: `GLMEmbeddings.aembed_documents` against a raw httpx floor, in one run.

Both embed the same 10,000 texts in the same requests (64 texts each, 256 dimensions) with
the same concurrency (4 in flight), against one loopback server in a subprocess that answers
GLM's embeddings shape (https://docs.bigmodel.cn/api-reference/模型-api/文本嵌入) from bytes
built once per size, so the server costs the same for both. The floor is what a hand-written
client does at least: `httpx.AsyncClient.post`, `json` decode, items put in order by
``index``. Rounds alternate which client goes first; the figure is the median of per-round
ratios. Peak memory is traced (`tracemalloc`) in a separate pass per client and compared with
the memory the returned vectors hold.

    python -m tests.bench.embeddings [--rounds 5] [--texts 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from langchain_glm import GLMEmbeddings

CHUNK, CONCURRENCY, DIMENSIONS = 64, 4, 256
Embed = Callable[[str, list[str]], Coroutine[Any, Any, list[list[float]]]]


@functools.lru_cache(maxsize=8)
def _reply(count: int, dimensions: int) -> bytes:
    """A whole HTTP response with ``count`` vectors (floats as GLM prints them, 8 decimals)."""
    rng = random.Random(count)  # noqa: S311 - bench data, not a secret
    data = [
        {"index": i, "object": "embedding",
         "embedding": [round(rng.uniform(-0.1, 0.1), 8) for _ in range(dimensions)]}
        for i in range(count)
    ]  # fmt: skip
    usage = {"prompt_tokens": count * 4, "completion_tokens": 0, "total_tokens": count * 4}
    body = json.dumps({"model": "embedding-3", "object": "list", "data": data, "usage": usage})
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body.encode()


async def _connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer keep-alive requests until the client closes (one small JSON parse each)."""
    try:
        while head := await reader.readuntil(b"\r\n\r\n"):
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = json.loads(await reader.readexactly(length))
            writer.write(_reply(len(body["input"]), body.get("dimensions", 2048)))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def _serve() -> None:
    server = await asyncio.start_server(_connection, "127.0.0.1", 0)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/api/paas/v4", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # serve until stdin closes


async def floor(base_url: str, texts: list[str]) -> list[list[float]]:
    """The raw httpx floor: the same requests, at the same concurrency, vectors by index."""
    slots = asyncio.Semaphore(CONCURRENCY)
    headers = {"Authorization": "Bearer bench"}

    async with httpx.AsyncClient(headers=headers) as client:

        async def chunk(start: int) -> list[list[float]]:
            body = {"model": "embedding-3", "input": texts[start : start + CHUNK]}
            async with slots:
                reply = await client.post(f"{base_url}/embeddings", json=body | {"dimensions": 256})
            data = sorted(reply.json()["data"], key=lambda item: item["index"])
            return [item["embedding"] for item in data]

        parts = await asyncio.gather(*(chunk(s) for s in range(0, len(texts), CHUNK)))
    return [vector for part in parts for vector in part]


async def ours(base_url: str, texts: list[str]) -> list[list[float]]:
    """`GLMEmbeddings.aembed_documents` with the same chunking and concurrency."""
    model = GLMEmbeddings(
        dimensions=DIMENSIONS, chunk_size=CHUNK, max_concurrency=CONCURRENCY,
        base_url=base_url, api_key="bench",
    )  # fmt: skip
    return await model.aembed_documents(texts)


def _wall(embed: Embed, base_url: str, texts: list[str]) -> float:
    gc.collect()
    start = time.perf_counter()
    vectors = asyncio.run(embed(base_url, texts))
    elapsed = time.perf_counter() - start
    assert len(vectors) == len(texts) and len(vectors[-1]) == DIMENSIONS  # noqa: PT018
    return elapsed


def _memory(embed: Embed, base_url: str, texts: list[str]) -> tuple[float, float]:
    """(peak traced MB during the call, MB the returned vectors hold)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    vectors = asyncio.run(embed(base_url, texts))
    gc.collect()
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(vectors) == len(texts)
    return (peak - before) / 2**20, (kept - before) / 2**20


def run(base_url: str, texts: list[str], rounds: int) -> dict[str, Any]:
    """Alternate the clients for ``rounds`` rounds; then one traced pass each."""
    _wall(ours, base_url, texts[:640])  # warm up imports, pools and the server's cache
    _wall(floor, base_url, texts[:640])
    ratios: list[float] = []
    walls: dict[str, list[float]] = {"ours": [], "floor": []}
    for index in range(rounds):
        order = [("ours", ours), ("floor", floor)]
        for name, embed in order if index % 2 else order[::-1]:
            walls[name].append(_wall(embed, base_url, texts))
        ratios.append(walls["ours"][-1] / walls["floor"][-1])
    memory = {name: _memory(embed, base_url, texts) for name, embed in (("ours", ours),
              ("floor", floor))}  # fmt: skip
    return {"ratios": ratios, "walls": walls, "memory": memory}


def main(argv: list[str] | None = None) -> int:
    """Start the server subprocess, run the rounds, print the figures."""
    parser = argparse.ArgumentParser("python -m tests.bench.embeddings", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve())
        return 0
    command = [sys.executable, "-m", "tests.bench.embeddings", "--serve"]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, stdin=pipe, stdout=pipe, text=True) as p:  # noqa: S603
        assert p.stdout is not None and p.stdin is not None  # noqa: PT018
        base_url = p.stdout.readline().strip()
        texts = [f"document {n}: a short text about GLM embeddings" for n in range(args.texts)]
        result = run(base_url, texts, args.rounds)
        p.stdin.close()
    ratio = statistics.median(result["ratios"])
    print(f"{args.texts} texts, {CHUNK} per request, {CONCURRENCY} in flight, {DIMENSIONS} dims")
    for name in ("ours", "floor"):
        walls = ", ".join(f"{w:.3f}" for w in result["walls"][name])
        peak, kept = result["memory"][name]
        print(f"{name:5}  wall s: {walls}   peak {peak:.1f} MB for {kept:.1f} MB of vectors "
              f"({peak / kept:.2f}x)")  # fmt: skip
    rounds = ", ".join(f"{r:.2f}" for r in result["ratios"])
    print(f"wall ours/floor: median {ratio:.2f}x (rounds {rounds}); target <= 1.25x")
    peak, kept = result["memory"]["ours"]
    print(f"peak memory / vectors' own size: {peak / kept:.2f}x; target <= 2x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
