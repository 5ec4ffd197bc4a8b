"""Real GLM-4.7 / GLM-5.x captures replayed byte for byte over loopback HTTP.

The captures in `captures/c*_*` were recorded from the live API by other projects:
- C1 `c1_glm53flash_parallel_tools.sse`: glm-5.3-flash, reasoning then two parallel tool
  calls and no text (awepo-pro/lw `internal/llm/testdata/glm-real-usage-round.sse`
  @9b414346). The source is an excerpt: its first frame, two middle frames and the last
  four are committed as given; the "..." lines that stood for about 90 elided reasoning
  frames are dropped, each frame keeps its own blank-line terminator.
- C3 `c3_glm47flash_effort_high.sse`: glm-4.7-flash with `reasoning_effort="high"`,
  reasoning, then text, then a tool call (charmbracelet/fantasy
  `providertests/testdata/TestOpenAICompatibleThinking/zai-glm-4-7-flash/thinking-streaming.yaml`
  @f6d4d1e3). Also an excerpt: the frames given are committed, "..." lines dropped.
- C4 `c4_glm47flash_forced_tool.json`: glm-4.7-flash non-stream, `content: ""` beside a
  tool call (same fantasy commit, `TestOpenAICompatObjectGeneration/.../simple_object.yaml`).
- C5 `c5_glm51_relay.json`: GLM-5.1 relayed by a gateway (upper-case `model`, an extra
  `cost` field; travisennis/acai notes).

Streams run through `stream`/`astream` and through `invoke`/`ainvoke` with `streaming=True`;
each checks the message produced and what the request carried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import reduce
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)

from langchain_glm import ChatGLM, GLMCompatibilityWarning
from langchain_glm._models import MODELS
from langchain_glm.testing import GLMServer

CAPTURES = Path(__file__).parent / "captures"
MODES = ["sync", "async"]
WAYS = ["stream", "invoke"]
STREAMING: dict[str, dict[str, Any]] = {"stream": {}, "invoke": {"streaming": True}}
"""`invoke` of a stream capture needs `streaming=True`; an explicit `streaming=False` would
make langchain-core answer `stream()` with one non-streaming call."""


@pytest.fixture
def server() -> Iterator[GLMServer]:
    with GLMServer(models=list(MODELS)) as glm:
        yield glm


def serve(server: GLMServer, name: str) -> None:
    server.reply_raw((CAPTURES / name).read_bytes())


def run(llm: ChatGLM, mode: str, way: str, **kwargs: Any) -> AIMessage:
    """Invoke, or stream and add the chunks up, in the sync or async path."""
    if way == "invoke":
        call = (
            llm.invoke("q", **kwargs) if mode == "sync" else asyncio.run(llm.ainvoke("q", **kwargs))
        )
        assert isinstance(call, AIMessage)
        return call

    async def collect() -> list[BaseMessage]:
        return [chunk async for chunk in llm.astream("q", **kwargs)]

    chunks = list(llm.stream("q", **kwargs)) if mode == "sync" else asyncio.run(collect())
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    full = reduce(lambda a, b: a + b, chunks)
    assert isinstance(full, AIMessageChunk)
    return full


def summary(message: AIMessage) -> dict[str, Any]:
    """What a capture must produce: text, reasoning, tool calls, finish reason, usage."""
    usage = message.usage_metadata
    assert usage is not None
    return {
        "text": message.text,
        "reasoning": message.additional_kwargs.get("reasoning_content"),
        "calls": [(c["name"], c["args"], c["id"]) for c in message.tool_calls],
        "invalid": message.invalid_tool_calls,
        "finish": message.response_metadata["finish_reason"],
        "usage": (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]),
        "reasoning_tokens": usage.get("output_token_details", {}).get("reasoning"),
        "cached": usage.get("input_token_details", {}).get("cache_read"),
    }


def model(server: GLMServer, name: str, **kwargs: Any) -> ChatGLM:
    return ChatGLM(model=name, base_url=server.base_url, api_key="test-key-123", **kwargs)


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("mode", MODES)
def test_c1_glm53_flash_reasoning_then_two_parallel_tool_calls(
    server: GLMServer, mode: str, way: str
) -> None:
    serve(server, "c1_glm53flash_parallel_tools.sse")
    llm = model(server, "glm-5.3-flash", **STREAMING[way])
    with pytest.warns(GLMCompatibilityWarning, match="cannot be turned off"):
        message = run(llm, mode, way, thinking=False)
    assert summary(message) == {
        "text": "",
        "reasoning": "The user.\n\n.",
        "calls": [
            ("wiki_search", {"q": "TileLang"}, "call_ee8e2fbf2fcd4b7d9059b1dc"),
            ("wiki_get", {"page": "wiki/entities/tilelang.md"}, "call_3b2e37843e974f908d912e80"),
        ],
        "invalid": [],
        "finish": "tool_calls",
        "usage": (5473, 115, 5588),
        "reasoning_tokens": 87,
        "cached": 0,
    }
    sent = server.requests[-1].json
    assert sent["thinking"] == {"type": "enabled"}  # never "disabled": a 1210 on glm-5.3-flash
    assert sent["reasoning_effort"] == "low"


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("mode", MODES)
def test_c3_glm47_flash_reasoning_text_then_tool_call(
    server: GLMServer, mode: str, way: str
) -> None:
    serve(server, "c3_glm47flash_effort_high.sse")
    llm = model(server, "glm-4.7-flash", thinking=True, **STREAMING[way])
    message = run(llm, mode, way)
    assert summary(message) == {
        "text": "I",
        "reasoning": ".",
        "calls": [("weather", {"location": "Florence"}, "call_330c741a86144cb7a385bc6d")],
        "invalid": [],
        "finish": "tool_calls",
        "usage": (173, 87, 260),
        "reasoning_tokens": 63,
        "cached": 172,
    }
    assert server.requests[-1].json["thinking"] == {"type": "enabled"}


@pytest.mark.parametrize("mode", MODES)
def test_c3_effort_high_is_not_sent_to_glm47_which_ignores_it(server: GLMServer, mode: str) -> None:
    serve(server, "c3_glm47flash_effort_high.sse")
    llm = model(server, "glm-4.7-flash", reasoning_effort="high")
    with pytest.warns(GLMCompatibilityWarning, match="ignores reasoning_effort"):
        run(llm, mode, "stream")
    assert "reasoning_effort" not in server.requests[-1].json


@pytest.mark.parametrize("mode", MODES)
def test_c4_glm47_flash_tool_call_beside_empty_content(server: GLMServer, mode: str) -> None:
    serve(server, "c4_glm47flash_forced_tool.json")
    message = run(model(server, "glm-4.7-flash"), mode, "invoke")
    assert message.content == ""
    assert message.tool_calls == [
        {
            "name": "Person",
            "args": {"age": 30, "city": "Paris", "name": "Alice"},
            "id": "call_-7807256997933348525",
            "type": "tool_call",
        }
    ]
    assert message.additional_kwargs["reasoning_content"].startswith("The user wants me")
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] == 325


@pytest.mark.parametrize("mode", MODES)
def test_c5_glm51_through_a_relay(server: GLMServer, mode: str) -> None:
    serve(server, "c5_glm51_relay.json")
    message = run(model(server, "glm-5.1", reasoning_effort=None), mode, "invoke")
    assert message.content == "2 + 2 = 4"
    assert message.additional_kwargs["reasoning_content"].startswith("1.  **Identify")
    assert message.response_metadata["model_name"] == "GLM-5.1"
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == 130


def _tool(name: str, parameters: Any = None) -> dict[str, Any]:
    schema = {"type": "object"} if parameters is None else parameters
    return {"type": "function", "function": {"name": name, "parameters": schema}}


_CALL = AIMessage("", tool_calls=[{"name": "f", "args": {}, "id": "c1", "type": "tool_call"}])
BAD_INPUT: list[tuple[str, Any, dict[str, Any]]] = [
    ("glm-4.6", "q", {"top_p": 0.0}),
    ("glm-5.3", "q", {"max_tokens": 131_073}),
    ("glm-4.6", "q", {"model": ""}),
    ("glm-4.6", "q", {"tools": [_tool(f"t{i}") for i in range(129)]}),
    ("glm-4.6", "q", {"tools": [_tool("bad name")]}),
    ("glm-4.6", "q", {"tools": [_tool("f", {"type": "array"})]}),
    ("glm-4.6", [HumanMessage("q"), ToolMessage("r", tool_call_id="nope")], {}),
    ("glm-4.6", [HumanMessage("q"), _CALL, HumanMessage("next")], {}),
    ("glm-5.3", [HumanMessage(content=[{"type": "image", "url": "https://x/c.png"}])], {}),
    ("glm-4.6", [HumanMessage(content=[{"type": "file", "url": "https://x/a.pdf"}])], {}),
    ("glm-4.6", "q", {"stop": ["a", "b"]}),
    ("glm-5.3", "q", {"reasoning_effort": "medium"}),
    ("glm-4.6", "q", {"thinking": "disabled"}),
    ("glm-4.6", "q", {"max_tokens": "10"}),
    ("glm-4.6", "q", {"api_key": "sk-canary-per-call-123"}),
]


@pytest.mark.parametrize(("name", "prompt", "options"), BAD_INPUT)
@pytest.mark.parametrize("way", WAYS)
def test_bad_input_never_reaches_the_server(
    server: GLMServer, way: str, name: str, prompt: Any, options: dict[str, Any]
) -> None:
    llm = model(server, name)
    call = llm.invoke if way == "invoke" else lambda *a, **k: list(llm.stream(*a, **k))
    with pytest.raises(ValueError, match=r"\w"):
        call(prompt, **options)
    assert server.requests == []
