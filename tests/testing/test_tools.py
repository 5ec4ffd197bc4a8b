"""Tool calls: whole (non-stream and default stream) and fragmented (``tool_stream: true``)."""

from __future__ import annotations

import json
import re

from langchain_glm.testing import GLMServer
from tests.testing.helpers import chat, deltas, post

WEATHER = {"name": "get_weather", "arguments": {"city": "Florence"}}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


async def test_non_stream_tool_call(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply(reasoning="call it", tool_calls=[WEATHER])
    body = (await post(mode, glm_server, chat(tools=TOOLS))).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert "content" not in message  # a tool-call message has no content key (quirk 3)
    assert message["reasoning_content"] == "call it"
    (call,) = message["tool_calls"]
    assert re.fullmatch(r"call_-\d{19}", call["id"])
    assert call == {
        "function": {"arguments": '{"city":"Florence"}', "name": "get_weather"},
        "id": call["id"],
        "index": 0,
        "type": "function",
    }


async def test_text_with_tool_calls_keeps_content(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("Let me check.", tool_calls=[WEATHER])
    message = (await post(mode, glm_server, chat())).json()["choices"][0]["message"]
    assert message["content"] == "Let me check."
    assert message["tool_calls"][0]["function"]["name"] == "get_weather"


async def test_stream_tool_calls_arrive_whole(glm_server: GLMServer, mode: str) -> None:
    second = {"name": "get_time", "arguments": '{"tz": "CET"}', "id": "call_fixed"}
    glm_server.reply(reasoning="two calls", tool_calls=[WEATHER, second], chunk_size=2)
    frames = (await post(mode, glm_server, chat(stream=True, tools=TOOLS))).frames
    ds = deltas(frames)
    calls = [d for d in ds if "tool_calls" in d]
    assert ds[-2:] == [calls[-1], {"role": "assistant", "content": ""}]
    assert ds[len(ds) - len(calls) - 2] == {"role": "assistant", "content": "\n"}  # T5
    assert [list(d) for d in calls] == [["tool_calls"], ["tool_calls"]]  # no role
    first, other = calls[0]["tool_calls"][0], calls[1]["tool_calls"][0]
    assert re.fullmatch(r"call_[0-9a-f]{24}", first["id"])
    assert first == {
        "id": first["id"],
        "index": 0,
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Florence"}'},
    }
    assert other["id"] == "call_fixed"
    assert other["index"] == 1
    assert other["function"]["arguments"] == '{"tz": "CET"}'
    assert frames[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_tool_stream_fragments_arguments(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply(tool_calls=[WEATHER], chunk_size=4)
    body = chat(stream=True, tool_stream=True, tools=TOOLS)
    frames = (await post(mode, glm_server, body)).frames
    parts = [d["tool_calls"][0] for d in deltas(frames) if "tool_calls" in d]
    head, rest = parts[0], parts[1:]
    assert re.fullmatch(r"call_[0-9a-f]{24}", head["id"])
    assert head == {
        "id": head["id"],
        "index": 0,
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert len(rest) == 5
    assert all(
        p == {"index": 0, "function": {"arguments": p["function"]["arguments"]}} for p in rest
    )
    arguments = "".join(p["function"]["arguments"] for p in rest)
    assert json.loads(arguments) == {"city": "Florence"}


async def test_tool_call_ids_are_deterministic(mode: str) -> None:
    ids = []
    for _ in range(2):
        with GLMServer() as server:
            server.reply(tool_calls=[WEATHER], times=2)
            await post(mode, server, chat())
            body = (await post(mode, server, chat())).json()
            ids.append(body["choices"][0]["message"]["tool_calls"][0]["id"])
    assert ids[0] == ids[1]


async def test_reset_restarts_ids(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply(tool_calls=[WEATHER])
    first = (await post(mode, glm_server, chat())).json()
    glm_server.reset()
    glm_server.reply(tool_calls=[WEATHER])
    again = (await post(mode, glm_server, chat())).json()
    call_ids = [b["choices"][0]["message"]["tool_calls"][0]["id"] for b in (first, again)]
    assert call_ids[0] == call_ids[1]
    assert first["id"][14:] == again["id"][14:]
