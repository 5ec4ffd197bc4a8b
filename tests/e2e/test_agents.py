"""Agent loops on GLM end to end: LangGraph's create_react_agent and langchain's create_agent.

Each loop has two tools and one parallel turn. The assertions are on what ChatGLM sent
(tool results matched to their calls, every turn's reasoning passed back with its tool
calls, in order) and on the final answer.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent

from langchain_glm import ChatGLM
from langchain_glm.testing import GLMServer

QUESTION = "Compare the weather in Rome and Oslo, then tell me the time in Rome."
REASONING = [
    "I need the weather in two cities: call both tools in parallel.",
    "Now the time in Rome.",
    "I have everything.",
]
ANSWER = "Rome is sunny, Oslo is snowy, and it is 14:00 in Rome."


@tool
def get_weather(city: str) -> str:
    """Return the current weather in a city."""
    return {"Rome": "sunny", "Oslo": "snowy"}[city]


@tool
def get_time(city: str) -> str:
    """Return the local time in a city."""
    return f"14:00 in {city}"


def script(server: GLMServer) -> None:
    """Queue the three model turns of the loop."""
    server.reply(
        reasoning=REASONING[0],
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "Rome"}},
            {"name": "get_weather", "arguments": {"city": "Oslo"}},
        ],
    )
    server.reply(
        reasoning=REASONING[1], tool_calls=[{"name": "get_time", "arguments": {"city": "Rome"}}]
    )
    server.reply(text=ANSWER, reasoning=REASONING[2])


def check_requests(server: GLMServer) -> None:
    """Tool results answer their calls; each turn's reasoning went back, unmodified and in order."""
    bodies = [r.json for r in server.requests]
    assert len(bodies) == 3
    assert all(b["thinking"] == {"type": "enabled", "clear_thinking": False} for b in bodies)
    assert all(
        {t["function"]["name"] for t in b["tools"]} == {"get_weather", "get_time"} for b in bodies
    )
    second = bodies[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "tool", "tool"]
    assert second[1]["reasoning_content"] == REASONING[0]
    ids = [c["id"] for c in second[1]["tool_calls"]]
    assert [c["function"]["arguments"] for c in second[1]["tool_calls"]] == [
        '{"city": "Rome"}',
        '{"city": "Oslo"}',
    ]
    assert [(m["tool_call_id"], m["content"]) for m in second[2:]] == [
        (ids[0], "sunny"),
        (ids[1], "snowy"),
    ]
    third = bodies[2]["messages"]
    assert [m["role"] for m in third] == ["user", "assistant", "tool", "tool", "assistant", "tool"]
    assert [m.get("reasoning_content") for m in third if m["role"] == "assistant"] == REASONING[:2]
    assert third[4]["tool_calls"][0]["function"]["name"] == "get_time"
    assert third[5] == {
        "role": "tool",
        "tool_call_id": third[4]["tool_calls"][0]["id"],
        "content": "14:00 in Rome",
    }


def check_result(messages: list[Any]) -> None:
    """The agent's own message list ends with GLM's answer and kept every reasoning."""
    final = messages[-1]
    assert isinstance(final, AIMessage)
    assert final.text.strip() == ANSWER
    assert final.additional_kwargs["reasoning_content"] == REASONING[2]
    assert sum(isinstance(m, ToolMessage) for m in messages) == 3


def make_agent(kind: str, server: GLMServer, **settings: Any) -> Any:
    """Build the agent under test on a thinking ChatGLM that keeps earlier reasoning."""
    llm = ChatGLM(
        base_url=server.base_url, api_key="k", thinking=True, clear_thinking=False, **settings
    )
    if kind == "langgraph":
        return create_react_agent(llm, [get_weather, get_time])
    return create_agent(llm, [get_weather, get_time])


@pytest.mark.filterwarnings("ignore::langgraph.warnings.LangGraphDeprecatedSinceV10")
@pytest.mark.parametrize("kind", ["langgraph", "langchain"])
@pytest.mark.parametrize("streaming", [False, True])
def test_agent_loop(glm_server: GLMServer, kind: str, streaming: bool) -> None:
    script(glm_server)
    agent = make_agent(kind, glm_server, streaming=streaming)
    result = agent.invoke({"messages": [("user", QUESTION)]})
    check_requests(glm_server)
    check_result(result["messages"])


@pytest.mark.filterwarnings("ignore::langgraph.warnings.LangGraphDeprecatedSinceV10")
@pytest.mark.parametrize("kind", ["langgraph", "langchain"])
async def test_agent_loop_async_streamed(glm_server: GLMServer, kind: str) -> None:
    script(glm_server)
    async with httpx.AsyncClient() as client:
        agent = make_agent(kind, glm_server, tool_stream=True, http_async_client=client)
        tokens: list[Any] = []
        final: dict[str, Any] = {}
        async for mode, item in agent.astream(
            {"messages": [("user", QUESTION)]}, stream_mode=["messages", "values"]
        ):
            if mode == "messages":
                tokens.append(item[0])
            else:
                final = item
    check_requests(glm_server)
    assert all(r.json["stream"] is True for r in glm_server.requests)
    assert all(r.json["tool_stream"] is True for r in glm_server.requests)
    check_result(final["messages"])
    streamed = "".join(t.text for t in tokens if isinstance(t, AIMessage))
    assert ANSWER in streamed
