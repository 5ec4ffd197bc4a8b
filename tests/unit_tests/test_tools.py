"""Tool helpers, bind_tools and tool calls over real HTTP (httpx.MockTransport)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_glm import (
    ChatGLM,
    GLMCompatibilityWarning,
    mcp_tool,
    retrieval_tool,
    web_search_results,
    web_search_tool,
)

MODES = ["invoke", "ainvoke", "stream", "astream"]


# --------------------------------------------------------------------------- helpers


def completion(message: dict[str, Any], finish_reason: str = "stop", **top: Any) -> dict[str, Any]:
    """A non-stream GLM response body."""
    return {
        "id": "20251023225946abc",
        "model": "glm-4.6",
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": message}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        **top,
    }


def frames(body: dict[str, Any], *, split: int = 0) -> list[dict[str, Any]]:
    """Stream frames equivalent to a non-stream body (text and arguments in `split`-sized parts)."""
    message = body["choices"][0]["message"]
    head = {"id": body["id"], "model": body["model"]}
    deltas: list[dict[str, Any]] = []
    if message.get("reasoning_content"):
        deltas.append({"reasoning_content": message["reasoning_content"]})
    text = message.get("content") or ""
    size = split or len(text) or 1
    deltas += [{"content": text[i : i + size]} for i in range(0, len(text), size)]
    for i, call in enumerate(message.get("tool_calls") or []):
        deltas.extend(_call_deltas(i, call, split))
    out = [{**head, "choices": [{"index": 0, "delta": d}]} for d in deltas]
    if not out:
        out.append({**head, "choices": [{"index": 0, "delta": {"content": ""}}]})
    for key in ("web_search", "content_filter"):
        if key in body:
            out[0][key] = body[key]
    last = {"index": 0, "finish_reason": body["choices"][0]["finish_reason"], "delta": {}}
    out.append({**head, "choices": [last], "usage": body["usage"]})
    return out


def _call_deltas(index: int, call: dict[str, Any], split: int) -> list[dict[str, Any]]:
    """Deltas of one tool call: whole, or head then argument fragments (tool_stream)."""
    args = call["function"]["arguments"]
    if not split:
        return [{"tool_calls": [{**call, "index": index}]}]
    head = {**call, "index": index, "function": {"name": call["function"]["name"], "arguments": ""}}
    parts = [args[i : i + split] for i in range(0, len(args), split)]
    return [{"tool_calls": [head]}] + [
        {"tool_calls": [{"index": index, "function": {"arguments": p}}]} for p in parts
    ]


def call(name: str, args: Any, call_id: str = "call_1") -> dict[str, Any]:
    """A GLM tool call (arguments JSON-encoded unless given as a string)."""
    text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


class FakeGLM:
    """Answers chat requests from queued bodies (as JSON or SSE) and records request bodies."""

    def __init__(self, *bodies: dict[str, Any], split: int = 0) -> None:
        self.bodies = list(bodies)
        self.split = split
        self.sent: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        self.sent.append(payload)
        body = self.bodies.pop(0)
        if not payload.get("stream"):
            return httpx.Response(200, json=body)
        events = "".join(
            f"data: {json.dumps(f, ensure_ascii=False)}\n\n" for f in frames(body, split=self.split)
        )
        return httpx.Response(
            200,
            content=(events + "data: [DONE]\n\n").encode(),
            headers={"content-type": "text/event-stream"},
        )

    def model(self, **kwargs: Any) -> ChatGLM:
        transport = httpx.MockTransport(self.handle)
        return ChatGLM(
            model="glm-4.6",
            api_key="test-key",
            base_url="https://glm.test/api/paas/v4",
            http_client=httpx.Client(transport=transport),
            http_async_client=httpx.AsyncClient(transport=transport),
            **kwargs,
        )


async def run(runnable: Runnable[Any, Any], value: Any, mode: str) -> list[Any]:
    """Run a runnable in one of the four modes; returns every output (one for invoke)."""
    if mode == "invoke":
        return [runnable.invoke(value)]
    if mode == "ainvoke":
        return [await runnable.ainvoke(value)]
    if mode == "stream":
        return list(runnable.stream(value))
    return [item async for item in runnable.astream(value)]


def merged(outputs: list[Any]) -> AIMessage:
    """The aggregated message of a model run's outputs."""
    full = outputs[0]
    for chunk in outputs[1:]:
        full = full + chunk
    assert isinstance(full, AIMessage)
    return full


@tool
def get_weather(city: str) -> str:
    """Return the weather in a city."""
    return f"Sunny in {city}"


class Lookup(BaseModel):
    """Look something up."""

    query: str = Field(description="what to look up")


class Ticket(TypedDict):
    """Open a support ticket."""

    title: str
    priority: int


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


RAW_SCHEMA = {
    "name": "raw_schema_tool",
    "description": "A tool given as JSON schema.",
    "parameters": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
}
OPENAI_DICT = {"type": "function", "function": {**RAW_SCHEMA, "name": "openai_dict_tool"}}


# --------------------------------------------------------------------------- helpers: tools.py


def test_web_search_tool_sends_only_given_options() -> None:
    built = web_search_tool(
        search_engine="search_pro",
        count=5,
        search_recency_filter="oneWeek",
        search_domain_filter="www.example.com",
        content_size="high",
        result_sequence="after",
        search_result=True,
    )
    assert built == {
        "type": "web_search",
        "web_search": {
            "enable": True,
            "search_engine": "search_pro",
            "count": 5,
            "search_recency_filter": "oneWeek",
            "search_domain_filter": "www.example.com",
            "content_size": "high",
            "result_sequence": "after",
            "search_result": True,
        },
    }
    assert web_search_tool() == {"type": "web_search", "web_search": {"enable": True}}
    assert web_search_tool(enable=False, require_search=False)["web_search"] == {
        "enable": False,
        "require_search": False,
    }


@pytest.mark.parametrize(
    "kwargs", [{"count": 0}, {"count": 51}, {"search_query": " "}, {"search_engine": ""}]
)
def test_web_search_tool_rejects_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        web_search_tool(**kwargs)


def test_retrieval_and_mcp_tools() -> None:
    assert retrieval_tool("kb-1", prompt_template="{{knowledge}} {{question}}") == {
        "type": "retrieval",
        "retrieval": {"knowledge_id": "kb-1", "prompt_template": "{{knowledge}} {{question}}"},
    }
    assert retrieval_tool("kb-2") == {"type": "retrieval", "retrieval": {"knowledge_id": "kb-2"}}
    built = mcp_tool(
        "docs",
        server_url="https://mcp.example.com/mcp",
        transport_type="streamable-http",
        allowed_tools=("search",),
        headers={"Authorization": "Bearer x"},
    )
    assert built == {
        "type": "mcp",
        "mcp": {
            "server_label": "docs",
            "server_url": "https://mcp.example.com/mcp",
            "transport_type": "streamable-http",
            "allowed_tools": ["search"],
            "headers": {"Authorization": "Bearer x"},
        },
    }
    assert mcp_tool("hosted") == {"type": "mcp", "mcp": {"server_label": "hosted"}}
    with pytest.raises(ValueError, match="knowledge_id"):
        retrieval_tool(" ")
    with pytest.raises(ValueError, match="server_label"):
        mcp_tool("")


def test_web_search_results_reads_metadata() -> None:
    results = [{"title": "T", "link": "https://x", "content": "C"}]
    assert web_search_results(AIMessage("a", response_metadata={"web_search": results})) == results
    assert web_search_results(AIMessage("a")) == []
    assert web_search_results(AIMessage("a", response_metadata={"web_search": "junk"})) == []


# --------------------------------------------------------------------------- bind_tools


async def test_bind_tools_accepts_every_tool_form_and_builtins() -> None:
    fake = FakeGLM(completion({"role": "assistant", "content": "ok"}))
    builtins = [web_search_tool(count=3), retrieval_tool("kb"), mcp_tool("srv")]
    forms: list[Any] = [get_weather, add, Lookup, Ticket, RAW_SCHEMA, OPENAI_DICT, *builtins]
    fake.model().bind_tools(forms).invoke("hi")
    sent = fake.sent[0]["tools"]
    names = [t["function"]["name"] for t in sent if t["type"] == "function"]
    assert names == [
        "get_weather",
        "add",
        "Lookup",
        "Ticket",
        "raw_schema_tool",
        "openai_dict_tool",
    ]
    assert sent[-3:] == builtins
    assert sent[1]["function"]["parameters"]["properties"] == {
        "a": {"type": "integer"},
        "b": {"type": "integer"},
    }
    assert fake.sent[0]["tool_choice"] == "auto"
    assert fake.sent[0]["messages"] == [{"role": "user", "content": "hi"}]


FORCING = [
    ("any", "one of the provided tools"),
    ("required", "one of the provided tools"),
    (True, "one of the provided tools"),
    ("get_weather", "the tool `get_weather`"),
    ({"type": "function", "function": {"name": "add"}}, "the tool `add`"),
    ({"type": "tool", "name": "add"}, "the tool `add`"),
    ({"type": "any"}, "one of the provided tools"),
]


@pytest.mark.parametrize(("choice", "rule"), FORCING)
def test_forcing_tool_choice_is_sent_as_auto_with_instruction(choice: Any, rule: str) -> None:
    fake = FakeGLM(completion({"role": "assistant", "content": "ok"}))
    with pytest.warns(GLMCompatibilityWarning, match="only tool_choice='auto'"):
        bound = fake.model().bind_tools([get_weather, add], tool_choice=choice)
    bound.invoke([("system", "Be brief."), ("human", "hi")])
    sent = fake.sent[0]
    assert sent["tool_choice"] == "auto"
    assert sent["messages"][0]["role"] == "system"
    assert sent["messages"][0]["content"].startswith("Be brief.\n\n")
    assert f"You must respond by calling {rule}" in sent["messages"][0]["content"]
    assert len(sent["messages"]) == 2


def test_single_tool_any_names_it() -> None:
    fake = FakeGLM(completion({"role": "assistant", "content": "ok"}))
    with pytest.warns(GLMCompatibilityWarning):
        fake.model().bind_tools([get_weather], tool_choice="any").invoke("hi")
    assert fake.sent[0]["messages"][0] == {
        "role": "system",
        "content": (
            "You must respond by calling the tool `get_weather`; do not answer in plain text."
        ),
    }


@pytest.mark.parametrize("choice", [None, "auto", {"type": "auto"}, False])
def test_non_forcing_choice_no_warning_no_instruction(choice: Any) -> None:
    fake = FakeGLM(completion({"role": "assistant", "content": "ok"}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fake.model().bind_tools([get_weather], tool_choice=choice, strict=True).invoke("hi")
    assert fake.sent[0]["tool_choice"] == "auto"
    assert fake.sent[0]["messages"] == [{"role": "user", "content": "hi"}]
    assert "strict" not in fake.sent[0]
    assert "strict" not in fake.sent[0]["tools"][0]["function"]


@pytest.mark.parametrize("choice", ["none", {"type": "none"}])
def test_tool_choice_none_sends_no_tools(choice: Any) -> None:
    fake = FakeGLM(completion({"role": "assistant", "content": "ok"}))
    fake.model().bind_tools([get_weather], tool_choice=choice).invoke("hi")
    assert "tools" not in fake.sent[0]
    assert "tool_choice" not in fake.sent[0]


# --------------------------------------------------------------------------- tool calls


@pytest.mark.parametrize("mode", MODES)
async def test_parallel_tool_calls(mode: str) -> None:
    reply = completion(
        {
            "role": "assistant",
            "reasoning_content": "Two lookups.",
            "tool_calls": [
                call("get_weather", {"city": "Florence"}, "call_a"),
                call("add", {"a": 2, "b": 3}, "call_b"),
            ],
        },
        "tool_calls",
    )
    fake = FakeGLM(reply)
    outputs = await run(fake.model().bind_tools([get_weather, add]), "go", mode)
    message = merged(outputs)
    assert [(c["name"], c["args"], c["id"]) for c in message.tool_calls] == [
        ("get_weather", {"city": "Florence"}, "call_a"),
        ("add", {"a": 2, "b": 3}, "call_b"),
    ]
    assert message.invalid_tool_calls == []
    blocks = [b["type"] for b in message.content_blocks]
    assert blocks == ["reasoning", "tool_call", "tool_call"]


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_tool_stream_arguments_stream_by_index(mode: str) -> None:
    reply = completion(
        {
            "role": "assistant",
            "tool_calls": [
                call("get_weather", {"city": "京都 Kyoto"}, "call_a"),
                call("add", {"a": 20, "b": 22}, "call_b"),
            ],
        },
        "tool_calls",
    )
    fake = FakeGLM(reply, split=4)
    model = fake.model(tool_stream=True).bind_tools([get_weather, add])
    chunks = await run(model, "go", mode)
    assert fake.sent[0]["tool_stream"] is True
    pieces = [tc for c in chunks for tc in c.tool_call_chunks]
    assert len(pieces) > 4  # arguments arrived in fragments
    assert [p["id"] for p in pieces if p["id"]] == ["call_a", "call_b"]
    assert [p["name"] for p in pieces if p["name"]] == ["get_weather", "add"]
    assert {p["index"] for p in pieces} == {0, 1}
    message = merged(chunks)
    assert message.tool_calls[0]["args"] == {"city": "京都 Kyoto"}
    assert message.tool_calls[1]["args"] == {"a": 20, "b": 22}


@pytest.mark.parametrize("mode", MODES)
async def test_tool_stream_per_call_only_with_streaming(mode: str) -> None:
    fake = FakeGLM(completion({"role": "assistant", "content": "ok"}))
    await run(fake.model().bind_tools([get_weather], tool_stream=True), "hi", mode)
    assert fake.sent[0].get("tool_stream") is (True if "stream" in mode else None)


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_unparsable_arguments_become_invalid_tool_calls(mode: str) -> None:
    reply = completion(
        {
            "role": "assistant",
            "tool_calls": [
                call("get_weather", '{"city": "Rome"', "call_bad"),
                call("add", {"a": 1, "b": 1}, "call_ok"),
            ],
        },
        "tool_calls",
    )
    fake = FakeGLM(reply)
    [message] = await run(fake.model().bind_tools([get_weather, add]), "go", mode)
    assert [c["id"] for c in message.tool_calls] == ["call_ok"]
    [bad] = message.invalid_tool_calls
    assert (bad["id"], bad["name"], bad["args"]) == ("call_bad", "get_weather", '{"city": "Rome"')
    assert "not valid JSON" in (bad["error"] or "")


def test_tool_results_and_reasoning_go_back() -> None:
    first = completion(
        {
            "role": "assistant",
            "reasoning_content": "Need the weather.",
            "tool_calls": [call("get_weather", {"city": "Oslo"}, "call_w")],
        },
        "tool_calls",
    )
    fake = FakeGLM(first, completion({"role": "assistant", "content": "Sunny."}))
    model = fake.model(clear_thinking=False).bind_tools([get_weather])
    question = HumanMessage("Weather in Oslo?")
    turn = model.invoke([question])
    result = get_weather.invoke(turn.tool_calls[0])
    assert isinstance(result, ToolMessage)
    model.invoke([question, turn, result])
    messages = fake.sent[1]["messages"]
    assert messages[1] == {
        "role": "assistant",
        "tool_calls": [call("get_weather", {"city": "Oslo"}, "call_w")],
        "reasoning_content": "Need the weather.",
    }
    assert messages[2] == {"role": "tool", "tool_call_id": "call_w", "content": "Sunny in Oslo"}
    assert fake.sent[1]["thinking"] == {"type": "enabled", "clear_thinking": False}


def test_stream_chunk_blocks_never_collide() -> None:
    reply = completion(
        {"role": "assistant", "content": "Let me check.", "tool_calls": [call("add", {"a": 1})]},
        "tool_calls",
    )
    fake = FakeGLM(reply)
    chunks = list(fake.model(output_version="v1").bind_tools([add]).stream("x"))
    full = merged(chunks)
    assert isinstance(full, AIMessageChunk)
    kinds = [b["type"] for b in full.content_blocks]
    assert kinds == ["text", "tool_call"]
