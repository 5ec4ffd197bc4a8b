"""Wire shapes of replies: JSON bodies and SSE frames, as GLM documents them.

https://docs.z.ai/api-reference/llm/chat-completion (the reply and its stream chunks).
"""

from __future__ import annotations

import json
import re

import pytest

from langchain_glm.testing import GLMServer
from tests.testing.helpers import ID_RE, chat, client, deltas, joined, post

USAGE_KEYS = ["prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details"]


async def test_non_stream_default_reply(glm_server: GLMServer, mode: str) -> None:
    result = await post(mode, glm_server, chat("hello"))
    assert result.status == 200
    assert result.headers["content-type"] == "application/json; charset=UTF-8"
    body = result.json()
    assert list(body) == sorted(body)  # the service sends keys alphabetically
    assert "object" not in body
    assert re.match(ID_RE, body["id"])
    assert body["request_id"] == body["id"]
    assert body["model"] == "glm-4.6"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["index"] == 0
    assert choice["message"] == {
        "content": "You said: hello",
        "reasoning_content": "The user said: hello. I will answer.",
        "role": "assistant",
    }
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}
    assert "completion_tokens_details" not in usage


async def test_stream_framing(glm_server: GLMServer, mode: str) -> None:
    result = await post(mode, glm_server, chat("hello", stream=True))
    assert result.status == 200
    assert result.headers["content-type"] == "text/event-stream;charset=UTF-8"
    assert result.body.endswith(b"\n\ndata: [DONE]\n\n")
    frames = result.frames
    assert len({(f["id"], f["created"], f["model"]) for f in frames}) == 1
    assert re.match(ID_RE, frames[0]["id"])
    for frame in frames:
        assert list(frame)[:4] == ["id", "created", "model", "choices"]
        assert "object" not in frame
        assert "request_id" not in frame
    for frame in frames[:-1]:
        assert "finish_reason" not in frame["choices"][0]
        assert "usage" not in frame
    ds = deltas(frames[:-1])
    assert ds[0] == {"role": "assistant", "content": "\n"}
    reasoning = [d for d in ds if "reasoning_content" in d and "content" not in d]
    content = [d for d in ds[1:] if "content" in d]
    assert reasoning
    assert all(list(d) == ["role", "reasoning_content"] for d in reasoning)
    assert all(list(d) == ["role", "content", "reasoning_content"] for d in content)
    assert all(d["reasoning_content"] == "" for d in content)
    assert joined(frames, "reasoning_content") == "The user said: hello. I will answer."
    assert joined(frames, "content") == "\nYou said: hello"


async def test_stream_last_frame(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("Hi", reasoning="r", usage={"reasoning_tokens": 1, "cached_tokens": 2})
    last = (await post(mode, glm_server, chat(stream=True))).frames[-1]
    assert last["choices"] == [
        {"index": 0, "finish_reason": "stop", "delta": {"role": "assistant", "content": ""}}
    ]
    assert list(last["usage"]) == [*USAGE_KEYS, "completion_tokens_details"]
    assert last["usage"]["prompt_tokens_details"] == {"cached_tokens": 2}
    assert last["usage"]["completion_tokens_details"] == {"reasoning_tokens": 1}


async def test_scripted_usage_is_exact(glm_server: GLMServer, mode: str) -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 20, "cached_tokens": 3}
    glm_server.reply("a", usage=usage, times=2)
    expected = {
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "total_tokens": 30,
        "prompt_tokens_details": {"cached_tokens": 3},
    }
    assert (await post(mode, glm_server, chat())).json()["usage"] == expected
    assert (await post(mode, glm_server, chat(stream=True))).frames[-1]["usage"] == expected


async def test_client_request_id_is_echoed(glm_server: GLMServer, mode: str) -> None:
    body = (await post(mode, glm_server, chat(request_id="my-request-1"))).json()
    assert body["request_id"] == "my-request-1"
    assert re.match(ID_RE, body["id"])


async def test_include_object(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("x", include_object=True, times=2)
    assert (await post(mode, glm_server, chat())).json()["object"] == "chat.completion"
    frames = (await post(mode, glm_server, chat(stream=True))).frames
    assert {f["object"] for f in frames} == {"chat.completion.chunk"}


async def test_web_search_and_content_filter(glm_server: GLMServer, mode: str) -> None:
    search = [{"title": "T", "content": "C", "link": "https://example.com", "refer": "ref_1"}]
    flt = [{"role": "assistant", "level": 3}]
    glm_server.reply("x", web_search=search, content_filter=flt, times=2)
    body = (await post(mode, glm_server, chat())).json()
    assert body["web_search"] == search
    assert body["content_filter"] == flt
    frames = (await post(mode, glm_server, chat(stream=True))).frames
    assert frames[0]["web_search"] == search
    assert frames[0]["content_filter"] == flt
    assert all("web_search" not in f for f in frames[1:])


@pytest.mark.parametrize("stream", [False, True])
async def test_thinking_disabled_means_no_reasoning(
    glm_server: GLMServer, mode: str, stream: bool
) -> None:
    result = await post(mode, glm_server, chat(thinking={"type": "disabled"}, stream=stream))
    assert b"reasoning_content" not in result.body
    if stream:
        assert deltas(result.frames)[0] == {"role": "assistant", "content": "You said"}
    else:
        assert result.json()["choices"][0]["message"]["content"] == "You said: hello"


async def test_non_thinking_model_never_reasons(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("x", reasoning="hidden")
    result = await post(mode, glm_server, {**chat(), "model": "glm-4-32b-0414-128k"})
    assert b"reasoning_content" not in result.body
    assert result.json()["model"] == "glm-4-32b-0414-128k"


async def test_chunk_size_and_finish_reason(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("abc", chunk_size=1, finish_reason="length")
    frames = (await post(mode, glm_server, chat(stream=True))).frames
    assert [d["content"] for d in deltas(frames)] == ["a", "b", "c", ""]
    assert frames[-1]["choices"][0]["finish_reason"] == "length"


async def test_model_override_and_non_ascii(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("你好", model="glm-4.6-0930")
    result = await post(mode, glm_server, chat())
    assert "你好".encode() in result.body  # raw UTF-8, not \\u escapes
    assert result.json()["model"] == "glm-4.6-0930"


async def test_default_reply_reads_text_parts(glm_server: GLMServer, mode: str) -> None:
    parts = [{"type": "text", "text": "look"}, {"type": "text", "text": "here"}]
    body = (await post(mode, glm_server, chat(parts))).json()
    assert body["choices"][0]["message"]["content"] == "You said: look here"


def test_events_are_single_data_lines(glm_server: GLMServer) -> None:
    glm_server.reply("line1\nline2", reasoning="a\n\nb")
    with client() as http:
        raw = http.post(
            glm_server.base_url + "/chat/completions",
            json=chat(stream=True),
            headers={"Authorization": "Bearer k"},
        ).content
    events = raw.split(b"\n\n")
    assert events[-1] == b""
    assert all(e.startswith(b"data: ") and b"\n" not in e for e in events[:-1])
    text = "".join(json.loads(e[6:])["choices"][0]["delta"].get("content", "") for e in events[:-2])
    assert text == "\nline1\nline2"
