"""GLM's built-in web search end to end: the tool goes out as given, results come back as blocks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain_core.tools import tool

from langchain_glm import ChatGLM, web_search_results, web_search_tool
from langchain_glm.testing import GLMServer
from tests.unit_tests.test_tools import MODES, merged, run

RESULTS = [
    {
        "title": "GLM-4.6 released",
        "content": "Zhipu released GLM-4.6 with a 200K context.",
        "link": "https://example.com/glm-4-6",
        "media": "Example News",
        "icon": "https://example.com/icon.png",
        "refer": "ref_1",
        "publish_date": "2025-09-30",
    },
    {"title": "Second", "content": "More.", "link": "https://example.org/2", "refer": "ref_2"},
]
SEARCH = web_search_tool(search_engine="search_pro", count=2, search_result=True)


@tool
def save_note(text: str) -> str:
    """Save a note."""
    return "saved"


@pytest.mark.parametrize("mode", MODES)
async def test_search_results_in_content_blocks(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply(
        text="GLM-4.6 is out [ref_1].", reasoning="The search found a release.", web_search=RESULTS
    )
    async with httpx.AsyncClient() as client:
        llm = ChatGLM(base_url=glm_server.base_url, api_key="k", http_async_client=client)
        message = merged(await run(llm.bind_tools([SEARCH]), "What is new with GLM?", mode))
    assert glm_server.last_request.json["tools"] == [SEARCH]
    assert glm_server.last_request.json["tool_choice"] == "auto"
    assert message.response_metadata["web_search"] == RESULTS
    assert web_search_results(message) == RESULTS
    blocks = message.content_blocks
    assert [b["type"] for b in blocks] == [
        "server_tool_call",
        "server_tool_result",
        "reasoning",
        "text",
    ]
    call, result = blocks[0], blocks[1]
    assert call["name"] == "web_search"  # type: ignore[typeddict-item]
    assert result["tool_call_id"] == call["id"]  # type: ignore[typeddict-item]
    assert result["output"] == RESULTS  # type: ignore[typeddict-item]
    assert result["status"] == "success"  # type: ignore[typeddict-item]
    assert message.text.strip() == "GLM-4.6 is out [ref_1]."  # streams keep GLM's leading "\n"


def test_v1_stream_and_events_keep_search_blocks(glm_server: GLMServer) -> None:
    glm_server.reply(text="Answer.", reasoning="Thinking.", web_search=RESULTS, times=2)
    llm = ChatGLM(base_url=glm_server.base_url, api_key="k", output_version="v1")
    bound = llm.bind_tools([SEARCH])
    full: Any = None
    for chunk in bound.stream("q"):
        full = chunk if full is None else full + chunk
    kinds = [b["type"] for b in full.content]
    assert kinds == ["server_tool_call", "server_tool_result", "reasoning", "text"]
    stream: Any = bound.stream_events("q", version="v3")
    list(stream)
    output = stream.output
    assert [b["type"] for b in output.content_blocks] == kinds
    assert output.content_blocks[1]["output"] == RESULTS


@pytest.mark.parametrize("stream", [False, True])
def test_search_with_function_tool_call(glm_server: GLMServer, stream: bool) -> None:
    glm_server.reply(
        reasoning="Save it.",
        tool_calls=[{"name": "save_note", "arguments": {"text": "GLM-4.6 is out"}}],
        web_search=RESULTS[:1],
    )
    llm = ChatGLM(base_url=glm_server.base_url, api_key="k", streaming=stream)
    message = llm.bind_tools([SEARCH, save_note]).invoke("Note the GLM news.")
    sent = glm_server.last_request.json["tools"]
    assert sent[0] == SEARCH
    assert sent[1]["function"]["name"] == "save_note"
    kinds = [b["type"] for b in message.content_blocks]
    assert kinds == ["server_tool_call", "server_tool_result", "reasoning", "tool_call"]
    assert message.tool_calls[0]["args"] == {"text": "GLM-4.6 is out"}


def test_no_search_no_blocks(glm_server: GLMServer) -> None:
    glm_server.reply(text="No search needed.")
    message = ChatGLM(base_url=glm_server.base_url, api_key="k").bind_tools([SEARCH]).invoke("hi")
    assert web_search_results(message) == []
    assert [b["type"] for b in message.content_blocks] == ["text"]
