"""Load and lifecycle: counts of file descriptors, sockets and connections (never timings).

The heavy ones (hundreds of streams or calls) are marked `load`: `make test-load` runs them,
and CI does too; `make test` runs the lifecycle ones.

Every loop is bounded in count, and every wait by a generous cap (`asyncio.wait_for`, or a
bounded poll for the server thread to notice closed sockets).
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import warnings
from typing import Any

import pytest

from langchain_glm import ChatGLM
from tests.hostile import server as s
from tests.hostile.server import HostileServer

KEY = "load-test-key-5b2e91c0"
SLOW = s.sse_body([*(s.frame(t) for t in s.TEXT), s.frame("", finish="stop")])


def fds() -> tuple[int, int]:
    """(open file descriptors, of which sockets) of this process."""
    names = os.listdir("/proc/self/fd")
    links = []
    for name in names:
        try:
            links.append(os.readlink(f"/proc/self/fd/{name}"))
        except OSError:
            continue
    return len(links), sum(link.startswith("socket:") for link in links)


def settle(baseline: tuple[int, int]) -> tuple[int, int]:
    """Wait (bounded) for both ends of closed connections to be released; return the count."""
    for _ in range(200):
        gc.collect()
        now = fds()
        if now[0] <= baseline[0] and now[1] <= baseline[1]:
            return now
        time.sleep(0.05)
    return fds()


def model(server: HostileServer, **kwargs: Any) -> ChatGLM:
    return ChatGLM(base_url=server.base_url, api_key=KEY, timeout=60.0, **kwargs)


async def text_of(llm: ChatGLM, prompt: str = "x") -> str:
    return "".join([chunk.text async for chunk in llm.astream(prompt)])


@pytest.mark.load
def test_one_thousand_concurrent_streams_then_back_to_baseline(hostile: HostileServer) -> None:
    llm = model(hostile)
    asyncio.run(text_of(llm))  # warm imports and lazy state outside the measurement
    baseline = settle(fds())

    async def many() -> list[str]:
        return await asyncio.gather(*(text_of(llm) for _ in range(1000)))

    assert asyncio.run(asyncio.wait_for(many(), 120)) == ["Hello, world"] * 1000
    assert len(hostile.requests) == 1001
    after = settle(baseline)
    assert after[0] <= baseline[0], (baseline, after)
    assert after[1] <= baseline[1], (baseline, after)


@pytest.mark.load
def test_cancelling_500_of_1000_streams_midway_leaks_nothing(hostile: HostileServer) -> None:
    hostile.default = s.stream(SLOW, range(1, len(SLOW), 40), pause=0.05)
    llm = model(hostile)
    asyncio.run(text_of(llm))
    baseline = settle(fds())

    async def run() -> list[Any]:
        started = asyncio.Semaphore(0)

        async def one() -> str:
            parts: list[str] = []
            async for chunk in llm.astream("x"):
                if not parts:
                    started.release()
                parts.append(chunk.text)
            return "".join(parts)

        tasks = [asyncio.create_task(one()) for _ in range(1000)]
        for _ in range(1000):
            await started.acquire()  # every stream has handed out its first chunk
        for task in tasks[::2]:
            task.cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(asyncio.wait_for(run(), 120))
    assert sum(isinstance(r, asyncio.CancelledError) for r in results) == 500
    assert [r for r in results if isinstance(r, str)] == ["Hello, world"] * 500
    after = settle(baseline)
    assert after[0] <= baseline[0], (baseline, after)
    assert after[1] <= baseline[1], (baseline, after)


@pytest.mark.load
def test_thirty_two_threads_share_one_model_without_cross_talk(hostile: HostileServer) -> None:
    hostile.default = s.echo()
    llm = model(hostile)
    results: dict[int, list[str]] = {}

    def worker(n: int) -> None:
        results[n] = ["".join(c.text for c in llm.stream(f"thread {n} call {i}")) for i in range(5)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {n: [f"thread {n} call {i}" for i in range(5)] for n in range(32)}
    assert hostile.connections <= 32  # the one shared sync pool reuses its connections


def test_two_asyncio_runs_one_after_the_other(hostile: HostileServer) -> None:
    llm = model(hostile)
    assert asyncio.run(text_of(llm)) == "Hello, world"
    assert asyncio.run(text_of(llm)) == "Hello, world"
    assert len(hostile.requests) == 2


def test_a_loop_closed_without_shutdown_asyncgens_does_not_keep_its_sockets(
    hostile: HostileServer,
) -> None:
    llm = model(hostile)
    asyncio.run(text_of(llm))
    baseline = settle(fds())
    loop = asyncio.new_event_loop()
    assert loop.run_until_complete(text_of(llm)) == "Hello, world"
    loop.close()  # no shutdown_asyncgens: the pool's idle connection is still open
    del loop
    assert fds()[1] > baseline[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert asyncio.run(text_of(llm)) == "Hello, world"  # next use drops the dead pool
        after = settle(baseline)
    assert after[1] <= baseline[1], (baseline, after)
    # Python closes the dead loop's sockets when it collects them; it says so as it does.
    assert all(issubclass(w.category, ResourceWarning) for w in caught), caught


@pytest.mark.load
def test_five_hundred_timeouts_leave_one_pool_and_one_connection(hostile: HostileServer) -> None:
    hostile.default = s.json_reply()
    llm = model(hostile)
    llm.invoke("x")
    baseline = settle(fds())
    for n in range(500):
        assert llm.invoke("x", timeout=30.0 + n / 100).content == "ok"
    assert hostile.connections == 1
    after = settle(baseline)
    assert after[1] <= baseline[1], (baseline, after)


@pytest.mark.load
@pytest.mark.parametrize("calls", [500])
def test_five_hundred_async_timeouts_one_connection(hostile: HostileServer, calls: int) -> None:
    hostile.default = s.json_reply()
    llm = model(hostile)

    async def run() -> None:
        for n in range(calls):
            assert (await llm.ainvoke("x", timeout=30.0 + n / 100)).content == "ok"

    asyncio.run(asyncio.wait_for(run(), 120))
    assert hostile.connections == 1
