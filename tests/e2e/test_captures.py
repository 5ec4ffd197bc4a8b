"""ChatGLM over real loopback HTTP: real GLM-4.5/4.6 responses replayed byte for byte, the
shape quirks they show, the error table and the retry policy (requests counted).

The captures in `captures/` are real responses: the docs.z.ai chat-completion stream example
(https://docs.z.ai/api-reference/llm/chat-completion) and go-vcr cassettes that
charmbracelet/fantasy recorded against the live Z.ai API (`providertests/testdata`).

Every scenario runs through the sync and async paths.
"""

from __future__ import annotations

import asyncio
import json
from functools import reduce
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

from langchain_glm import ChatGLM, GLMContentFilterError, GLMError, GLMQuotaExceededError
from langchain_glm.testing import GLMServer

CAPTURES = Path(__file__).parent / "captures"
MODES = ["sync", "async"]


def capture(name: str) -> str:
    return (CAPTURES / name).read_text()


def make(server: GLMServer, **kwargs: Any) -> ChatGLM:
    return ChatGLM(base_url=server.base_url, api_key="test", **kwargs)


def invoke(llm: ChatGLM, mode: str, prompt: Any = "hi", **kwargs: Any) -> AIMessage:
    if mode == "sync":
        message: BaseMessage = llm.invoke(prompt, **kwargs)
    else:
        message = asyncio.run(llm.ainvoke(prompt, **kwargs))
    assert isinstance(message, AIMessage)
    return message


def stream(llm: ChatGLM, mode: str, prompt: Any = "hi", **kwargs: Any) -> list[AIMessageChunk]:
    if mode == "sync":
        return list(llm.stream(prompt, **kwargs))

    async def collect() -> list[AIMessageChunk]:
        return [chunk async for chunk in llm.astream(prompt, **kwargs)]

    return asyncio.run(collect())


def joined(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    return reduce(lambda a, b: a + b, chunks)


# ----------------------------------------------------------------------------- captures


@pytest.mark.parametrize("mode", MODES)
def test_t1_non_stream_thinking_answer(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_raw(capture("t1_glm46_thinking.json"))
    message = invoke(make(glm_server), mode, "Say hi in Portuguese")
    assert isinstance(message, AIMessage)
    assert str(message.content).startswith("\nOi!")
    assert message.additional_kwargs["reasoning_content"].startswith("1.  **Analyze")
    assert message.id == "20251023225903cf0228dfd8f1415d"
    assert message.response_metadata["request_id"] == message.id
    assert message.usage_metadata == {
        "input_tokens": 18,
        "output_tokens": 859,
        "total_tokens": 877,
        "input_token_details": {"cache_read": 0},
    }
    assert [b["type"] for b in message.content_blocks] == ["reasoning", "text"]


@pytest.mark.parametrize("mode", MODES)
def test_t3_stream_reasoning_then_text(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_raw(capture("t3_glm46_thinking_stream.sse"))
    chunks = stream(make(glm_server), mode)
    message = joined(chunks)
    assert message.additional_kwargs["reasoning_content"] == "1.  ** options."
    assert message.content == "\nThe**"
    assert [b["type"] for b in message.content_blocks] == ["reasoning", "text"]
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == 1286
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert message.response_metadata["finish_reason"] == "stop"
    assert chunks[-1].chunk_position == "last"


@pytest.mark.parametrize("mode", MODES)
def test_glm45_stream_with_empty_content_fields(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_raw(capture("glm45_thinking_stream.sse"))
    message = joined(stream(make(glm_server, model="glm-4.5"), mode))
    assert message.additional_kwargs["reasoning_content"] == "\nThe"
    assert message.content == "Hi"
    assert message.response_metadata["model_name"] == "glm-4.5"
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_token_details"] == {"cache_read": 6}


@pytest.mark.parametrize("mode", MODES)
def test_t5_streamed_tool_call_after_whitespace(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_raw(capture("t5_glm46_tool_stream.sse"))
    chunks = stream(make(glm_server), mode)
    message = joined(chunks)
    assert message.tool_calls == [
        {
            "name": "weather",
            "args": {"location": "Florence,Italy"},
            "id": "call_bfc3f11b2be748a69f6c8475",
            "type": "tool_call",
        }
    ]
    assert message.content == "\n\n"
    assert [b["type"] for b in message.content_blocks] == ["reasoning", "tool_call"]
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_token_details"] == {"cache_read": 178}


@pytest.mark.parametrize("mode", MODES)
def test_t5_in_v1_output_has_no_text_block(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_raw(capture("t5_glm46_tool_stream.sse"))
    message = joined(stream(make(glm_server, output_version="v1"), mode))
    assert [b["type"] for b in message.content_blocks] == ["reasoning", "tool_call"]


@pytest.mark.parametrize("mode", MODES)
def test_t8_docs_stream_with_null_finish_reason(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_raw(capture("t8_docs_stream.sse"))
    chunks = stream(make(glm_server, model="glm-4.7"), mode)
    message = joined(chunks)
    assert message.content == "Spring comes"
    assert message.response_metadata["finish_reason"] == "stop"
    assert sum("finish_reason" in c.response_metadata for c in chunks) == 1


# ----------------------------------------------------------------------------- shape quirks


def _body(message: dict[str, Any], finish: str = "stop", **top: Any) -> str:
    return json.dumps(
        {
            "id": "20251023225946abcdef0123456789ab",
            "request_id": "20251023225946abcdef0123456789ab",
            "created": 1,
            "model": "glm-4.6",
            "choices": [{"index": 0, "finish_reason": finish, "message": message}],
            **top,
        }
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("message", "content", "args"),
    [
        # 1: arguments as an object, not a string; 3: no content key
        (
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_-1",
                        "index": 0,
                        "type": "function",
                        "function": {"name": "f", "arguments": {"a": 2}},
                    }
                ],
            },
            "",
            {"a": 2},
        ),
        # 2: spaced JSON; 3: content ""
        (
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_-2",
                        "index": 0,
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"age": 30, "city": "Paris"}'},
                    }
                ],
            },
            "",
            {"age": 30, "city": "Paris"},
        ),
        # 3: real text with the call; 7: stream-style id
        (
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "call_bfc3f11b2be748a69f6c8475",
                        "index": 0,
                        "type": "function",
                        "function": {"name": "f", "arguments": "{}"},
                    }
                ],
            },
            "Checking.",
            {},
        ),
    ],
)
def test_tool_call_message_shapes(
    glm_server: GLMServer, mode: str, message: dict[str, Any], content: str, args: dict[str, Any]
) -> None:
    glm_server.reply_raw(_body(message, "tool_calls"))
    reply = invoke(make(glm_server), mode)
    assert isinstance(reply, AIMessage)
    assert reply.content == content
    assert reply.tool_calls[0]["args"] == args
    assert reply.tool_calls[0]["id"] == message["tool_calls"][0]["id"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "finish", ["sensitive", "model_context_window_exceeded", "length"]
)  # "network_error" (inference failed) is an error: tests/e2e/test_stream_faults.py
def test_nonstandard_finish_reasons_are_kept_raw(
    glm_server: GLMServer, mode: str, finish: str
) -> None:
    glm_server.reply(text="partial", finish_reason=finish)
    glm_server.reply(text="partial", finish_reason=finish)
    llm = make(glm_server)
    assert invoke(llm, mode).response_metadata["finish_reason"] == finish
    assert joined(stream(llm, mode)).response_metadata["finish_reason"] == finish


@pytest.mark.parametrize("mode", MODES)
def test_2026_object_field_and_reasoning_tokens(glm_server: GLMServer, mode: str) -> None:
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "reasoning_tokens": 15,
        "cached_tokens": 4,
    }
    glm_server.reply(text="ok", reasoning="r", usage=usage, include_object=True)
    glm_server.reply(text="ok", reasoning="r", usage=usage, include_object=True)
    llm = make(glm_server, model="glm-4.7-flash")
    for message in (invoke(llm, mode), joined(stream(llm, mode))):
        assert message.usage_metadata is not None
        assert message.usage_metadata["output_token_details"] == {"reasoning": 15}
        assert message.usage_metadata["input_token_details"] == {"cache_read": 4}


@pytest.mark.parametrize("mode", MODES)
def test_thinking_disabled_reaches_the_server(glm_server: GLMServer, mode: str) -> None:
    message = invoke(make(glm_server, thinking=False), mode, "plain")
    assert glm_server.last_request.json["thinking"] == {"type": "disabled"}
    assert "reasoning_content" not in message.additional_kwargs
    chunks = stream(make(glm_server), mode, "think", thinking=True)
    assert glm_server.last_request.json["thinking"] == {"type": "enabled"}
    assert (
        joined(chunks).additional_kwargs["reasoning_content"]
        == "The user said: think. I will answer."
    )


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "code", "core_class"),
    [
        (401, "1002", ModelAuthenticationError),
        (400, "1211", ModelNotFoundError),
        (400, "1214", ModelInvalidRequestError),
        (400, "1261", ContextOverflowError),
        (400, "1301", ModelInvalidRequestError),
        (429, "1113", ModelRateLimitError),
        (429, "1302", ModelRateLimitError),
        (500, "500", ModelAPIError),
    ],
)
def test_error_table_over_http(
    glm_server: GLMServer, mode: str, status: int, code: str, core_class: type[Exception]
) -> None:
    glm_server.reply_error(status, code, times=3)
    with pytest.raises(core_class) as info:
        invoke(make(glm_server, max_retries=0), mode)
    error = info.value
    assert isinstance(error, GLMError)
    assert (error.status_code, error.code) == (status, code)
    assert code in str(error)
    if code == "1301":
        assert isinstance(error, GLMContentFilterError)


@pytest.mark.parametrize("mode", MODES)
def test_html_error_page(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_error(502, "500", "Bad Gateway", html=True)
    with pytest.raises(ModelAPIError) as info:
        invoke(make(glm_server, max_retries=0), mode)
    assert "<html" not in str(info.value).lower()
    assert "502" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_rate_limit_retried_with_retry_after_quota_not(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_error(429, "1302", retry_after=0.01, times=2)
    assert invoke(make(glm_server), mode, "after two 429s").content == "You said: after two 429s"
    assert len(glm_server.requests) == 3
    glm_server.reset()
    glm_server.reply_error(429, "1113")
    with pytest.raises(GLMQuotaExceededError):
        invoke(make(glm_server), mode)
    assert len(glm_server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_stream_opening_is_retried(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_error(503, "500", retry_after=0.01)
    glm_server.reply(text="recovered")
    assert joined(stream(make(glm_server), mode)).content == "recovered"
    assert len(glm_server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_read_timeout_is_not_resent(glm_server: GLMServer, mode: str) -> None:
    # GLM may be generating (and billing) the slow answer: sending it again would pay twice.
    glm_server.reply(text="slow", delay_before_headers=1.0)
    glm_server.reply(text="fast")
    with pytest.raises(ModelTimeoutError) as info:
        invoke(make(glm_server, timeout=0.2), mode)
    assert not info.value.is_retryable
    assert len(glm_server.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_network_error_finish_is_retried(glm_server: GLMServer, mode: str) -> None:
    # finish_reason=network_error is GLM's "inference failed": retried like a 5xx.
    glm_server.reply(text="partial", finish_reason="network_error")
    glm_server.reply(text="fine")
    assert invoke(make(glm_server), mode).content == "fine"
    assert len(glm_server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("fault", "error_class", "text_before"),
    [
        ({"cut_after": 4}, ModelConnectionError, True),
        (
            {"stream_error": {"code": "1305", "message": "overloaded"}, "stream_error_after": 4},
            ModelRateLimitError,
            True,
        ),
        ({"malformed_after": 4}, ModelAPIError, True),
    ],
)
def test_mid_stream_failures_raise_after_yielded_chunks_and_never_resend(
    glm_server: GLMServer,
    mode: str,
    fault: dict[str, Any],
    error_class: type[Exception],
    text_before: bool,
) -> None:
    glm_server.reply(text="abcdefghijklmnopqrstuvwxyz" * 4, reasoning="r", chunk_size=4, **fault)
    seen: list[AIMessageChunk] = []
    llm = make(glm_server)

    async def consume_async() -> None:
        async for chunk in llm.astream("x"):
            seen.append(chunk)  # noqa: PERF401 - the chunks before the error are the point

    def consume() -> None:
        if mode == "sync":
            seen.extend(llm.stream("x"))
        else:
            asyncio.run(consume_async())

    with pytest.raises(error_class):
        consume()
    assert len(glm_server.requests) == 1
    assert bool(seen) is text_before


def test_shared_async_pool_does_not_queue_concurrent_streams(glm_server: GLMServer) -> None:
    # Each reply holds its connection for 0.5 s; a pool capped below 150 connections would
    # make the later requests wait for a slot longer than the 0.1 s pool timeout.
    glm_server.reply(text="slow", delay_before_headers=0.5, times=150)
    llm = make(glm_server, timeout=httpx.Timeout(30.0, pool=0.1), max_retries=0)

    async def one() -> str:
        return "".join([chunk.text async for chunk in llm.astream("x")])

    async def many() -> list[str]:
        return await asyncio.gather(*(one() for _ in range(150)))

    assert asyncio.run(many()) == ["slow"] * 150
    assert len(glm_server.requests) == 150


@pytest.mark.parametrize("mode", MODES)
def test_withheld_output_is_a_refusal_block(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply(text="", reasoning="r", finish_reason="sensitive", times=2)
    llm = make(glm_server)
    for message in (invoke(llm, mode), joined(stream(llm, mode))):
        refusal = [b for b in message.content_blocks if b["type"] == "refusal"]
        assert len(refusal) == 1
        assert "content safety" in str(refusal[0]["refusal"])
