"""Every fault a real network or gateway produces, against ChatGLM: typed, counted, never partial.

For each fault: the exception class, `is_retryable`, how many requests the server saw, and that
no partial result is returned as if it were complete (the call raises; a stream yields only the
frames that arrived whole, and then raises).
"""

from __future__ import annotations

import asyncio
import random
import tracemalloc
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from langchain_glm import ChatGLM
from langchain_glm._errors import (
    GLMAPIError,
    GLMConnectionError,
    GLMError,
    GLMQuotaExceededError,
    GLMRateLimitError,
    GLMTimeoutError,
)
from tests.hostile import server as s
from tests.hostile.server import HostileServer

BUSY = {"error": {"code": "1302", "message": "busy"}}
KEY = "hostile-canary-key-7f3a9c.d41d8cd98f00b204"
FIRST = s.sse_body([s.frame("Hel")], done=False)


def model(server: HostileServer, **kwargs: Any) -> ChatGLM:
    options: dict[str, Any] = {"timeout": 2.0, "max_retries": 1}
    return ChatGLM(model="glm-4.6", base_url=server.base_url, api_key=KEY, **{**options, **kwargs})


def run_stream(llm: ChatGLM, mode: str) -> tuple[str, GLMError | None]:
    """Stream one call; return the text of the chunks that arrived, and the error (if any)."""
    texts: list[str] = []

    async def consume() -> None:
        async for chunk in llm.astream("x"):
            texts.append(chunk.text)  # noqa: PERF401 - kept one by one when an error follows

    try:
        if mode == "sync":
            for chunk in llm.stream("x"):
                texts.append(chunk.text)  # noqa: PERF401
        else:
            asyncio.run(asyncio.wait_for(consume(), 60))
    except GLMError as error:
        return "".join(texts), error
    return "".join(texts), None


def run_invoke(llm: ChatGLM, mode: str) -> Any:
    if mode == "sync":
        return llm.invoke("x")
    return asyncio.run(asyncio.wait_for(llm.ainvoke("x"), 60))


@pytest.mark.parametrize("seed", range(12))
def test_any_tcp_split_gives_exactly_the_stream(
    hostile: HostileServer, mode: str, seed: int
) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible splits, not crypto
    cuts = rng.sample(range(1, len(s.STREAM)), k=rng.randint(1, 40))
    if seed == 0:
        cuts = list(range(1, len(s.STREAM)))  # one byte per TCP write
    hostile.default = s.stream(s.STREAM, cuts)
    text, error = run_stream(model(hostile), mode)
    assert error is None
    assert text == "Hello, world"
    assert len(hostile.requests) == 1


def test_crlf_and_cr_line_endings_split_anywhere(hostile: HostileServer, mode: str) -> None:
    crlf = s.STREAM.replace(b"\n", b"\r\n")
    cr = s.STREAM.replace(b"\n", b"\r")
    hostile.script(s.stream(crlf, range(1, len(crlf), 7)), s.stream(cr, range(1, len(cr), 5)))
    llm = model(hostile)
    assert run_stream(llm, mode) == ("Hello, world", None)
    assert run_stream(llm, mode) == ("Hello, world", None)


# (id, plays, expected class, retryable, requests seen, text yielded before the error)
STREAM_FAULTS = [
    (
        "stall-mid-frame",
        [s.stream_then(FIRST + b'data: {"id":"h1","cho', s.stall)],
        GLMTimeoutError,
        False,
        1,
        "Hel",
    ),
    (
        "one-byte-every-100ms",
        [s.stream_then(FIRST, s.trickle(0.1))],
        GLMTimeoutError,
        False,
        1,
        "Hel",
    ),
    (
        "comment-only-keepalive",
        [s.stream_then(b"", s.comments(0.1))],
        GLMTimeoutError,
        False,
        1,
        "",
    ),
    (
        "half-close-mid-frame",
        [s.stream_then(FIRST + b"data: {", s.half_close)],
        GLMConnectionError,
        False,
        1,
        "Hel",
    ),
    ("rst-after-a-frame", [s.stream_then(FIRST, s.reset)], GLMConnectionError, False, 1, "Hel"),
    ("rst-before-any-frame", [s.stream_then(b"", s.reset)], GLMConnectionError, False, 1, ""),
    (
        "redirect",
        [s.body(307, b"", Location="https://elsewhere.test/v4")],
        GLMAPIError,
        False,
        1,
        "",
    ),
    (
        "oversized-line",
        [s.stream_then(b"data: " + b"x" * (5 * 1024 * 1024), s.stall)],
        GLMAPIError,
        False,
        1,
        "",
    ),
    (
        "error-page-502",
        [s.body(502, b"<html>bad gateway</html>", "text/html")] * 2,
        GLMAPIError,
        True,
        2,
        "",
    ),
    (
        "quota-1113",
        [s.json_reply({"error": {"code": "1113", "message": "pay"}}, 429)],
        GLMQuotaExceededError,
        False,
        1,
        "",
    ),
    (
        "early-error-frame",
        [s.stream(s.sse_body([{"error": {"code": "1302", "message": "busy"}}]))] * 2,
        GLMRateLimitError,
        True,
        2,
        "",
    ),
    ("done-only", [s.stream(b"data: [DONE]\n\n")] * 2, GLMAPIError, True, 2, ""),
    (
        "cut-without-done",
        [s.stream(s.sse_body([s.frame("Hel")], done=False))],
        GLMConnectionError,
        False,
        1,
        "Hel",
    ),
]


@pytest.mark.parametrize(
    ("plays", "cls", "retryable", "seen", "before"),
    [f[1:] for f in STREAM_FAULTS],
    ids=[f[0] for f in STREAM_FAULTS],
)
def test_stream_faults(
    hostile: HostileServer,
    mode: str,
    plays: list[s.Play],
    cls: type[GLMError],
    retryable: bool,
    seen: int,
    before: str,
) -> None:
    hostile.script(*plays)
    text, error = run_stream(model(hostile, timeout=0.5), mode)
    assert type(error) is cls, error
    assert error.is_retryable is retryable
    assert len(hostile.requests) == seen
    assert text == before  # only whole frames were handed out, and then the call raised


def test_early_failure_then_success_is_retried_transparently(
    hostile: HostileServer, mode: str
) -> None:
    hostile.script(s.stream(s.sse_body([s.frame("", finish="network_error")])), s.stream())
    assert run_stream(model(hostile), mode) == ("Hello, world", None)
    assert len(hostile.requests) == 2


INVOKE_FAULTS = [
    ("slow-headers", [s.stream_then(b"", s.stall)], GLMTimeoutError, False, 1),
    ("body-one-byte-every-100ms", [s.stream_then(b"{", s.trickle(0.1))], GLMTimeoutError, False, 1),
    ("rst", [s.stream_then(b"", s.reset)], GLMConnectionError, False, 1),
    ("half-close", [s.stream_then(b'{"id"', s.half_close)], GLMConnectionError, False, 1),
    (
        "corrupt-gzip",
        [s.body(200, b"\x1f\x8b\x08\x00garbage-not-deflate", **{"Content-Encoding": "gzip"})],
        GLMAPIError,
        False,
        1,
    ),
    ("invalid-json", [s.body(200, b'{"id": "h1", "choices": [')], GLMAPIError, False, 1),
    ("redirect", [s.body(301, b"", Location="http://127.0.0.1:1/login")], GLMAPIError, False, 1),
    ("empty-body", [s.json_reply({})] * 2, GLMAPIError, True, 2),
    ("no-choices", [s.json_reply({"id": "h1", "choices": []})] * 2, GLMAPIError, True, 2),
    (
        "network-error",
        [
            s.json_reply(
                {
                    **s.REPLY,
                    "choices": [{"index": 0, "finish_reason": "network_error", "message": {}}],
                }
            )
        ]
        * 2,
        GLMAPIError,
        True,
        2,
    ),
    (
        "rate-limit",
        [s.json_reply(BUSY, 429, False, **{"Retry-After": "0"})] * 2,
        GLMRateLimitError,
        True,
        2,
    ),
    (
        "retry-after-too-long",
        [
            s.json_reply(
                {"error": {"code": "1302", "message": "busy"}},
                429,
                False,
                **{"Retry-After": "3600"},
            )
        ],
        GLMRateLimitError,
        True,
        1,
    ),
]


@pytest.mark.parametrize(
    ("plays", "cls", "retryable", "seen"),
    [f[1:] for f in INVOKE_FAULTS],
    ids=[f[0] for f in INVOKE_FAULTS],
)
def test_invoke_faults(
    hostile: HostileServer,
    mode: str,
    plays: list[s.Play],
    cls: type[GLMError],
    retryable: bool,
    seen: int,
) -> None:
    hostile.script(*plays)
    with pytest.raises(GLMError) as info:
        run_invoke(model(hostile, timeout=0.5), mode)
    assert type(info.value) is cls
    assert info.value.is_retryable is retryable
    assert len(hostile.requests) == seen


def test_valid_gzip_reply(hostile: HostileServer, mode: str) -> None:
    hostile.script(s.json_reply(gz=True))
    assert run_invoke(model(hostile), mode).content == "ok"


def test_connection_refused_is_retried(mode: str) -> None:
    with HostileServer() as gone:
        url = gone.base_url
    llm = ChatGLM(base_url=url, api_key=KEY, max_retries=1)
    with pytest.raises(GLMConnectionError) as info:
        run_invoke(llm, mode)
    assert info.value.is_retryable


def test_a_100_mb_error_page_costs_a_few_mb(hostile: HostileServer) -> None:
    hostile.script(*[s.endless_error(503, 100 * 1024 * 1024)] * 2)
    llm = model(hostile)
    tracemalloc.start()
    try:
        with pytest.raises(GLMAPIError, match="error body over 4 MiB"):
            llm.invoke("x")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(hostile.requests) == 2  # 503 is retried once; each read stops at 4 MiB
    assert peak < 16 * 1024 * 1024, peak


def test_ten_sequential_streams_use_one_connection(hostile: HostileServer, mode: str) -> None:
    llm = model(hostile)
    if mode == "sync":
        texts = ["".join(c.text for c in llm.stream("x")) for _ in range(10)]
    else:

        async def ten() -> list[str]:
            return ["".join([c.text async for c in llm.astream("x")]) for _ in range(10)]

        texts = asyncio.run(asyncio.wait_for(ten(), 60))
    assert texts == ["Hello, world"] * 10
    assert len(hostile.requests) == 10
    assert hostile.connections == 1


def test_an_aggregated_stream_is_the_whole_message(hostile: HostileServer) -> None:
    chunks = list(model(hostile).stream("x"))
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert isinstance(full, AIMessageChunk)
    assert full.content == "Hello, world"
    assert full.response_metadata.get("finish_reason") == "stop"
