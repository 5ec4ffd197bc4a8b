"""The `zhipuai` content-block translator, driven through langchain-core's public message API."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.block_translators import get_translator

from langchain_glm import _compat

META = {"model_provider": "zhipuai"}
SEARCH = [{"title": "GLM-4.6", "link": "https://z.ai/blog/glm-4.6", "content": "Released."}]


def message(content: Any = "", **fields: Any) -> AIMessage:
    metadata = {**META, **fields.pop("response_metadata", {})}
    return AIMessage(content=content, response_metadata=metadata, **fields)


def chunk(content: Any = "", **fields: Any) -> AIMessageChunk:
    metadata = {**META, **fields.pop("response_metadata", {})}
    return AIMessageChunk(content=content, response_metadata=metadata, **fields)


def test_registered_with_core_through_the_public_registry() -> None:
    assert get_translator("zhipuai") == {
        "translate_content": _compat.translate_content,
        "translate_content_chunk": _compat.translate_content_chunk,
    }


def test_a_complete_message_in_order() -> None:
    msg = message(
        "Rome is sunny.",
        additional_kwargs={"reasoning_content": "Search, then answer."},
        response_metadata={"web_search": SEARCH, "finish_reason": "tool_calls"},
        tool_calls=[{"id": "call_1", "name": "weather", "args": {"city": "Rome"}}],
        invalid_tool_calls=[
            {"id": "call_2", "name": "weather", "args": "{bad", "error": "not JSON"}
        ],
    )
    assert [b["type"] for b in msg.content_blocks] == [
        "server_tool_call",
        "server_tool_result",
        "reasoning",
        "text",
        "tool_call",
        "invalid_tool_call",
    ]
    search_call, search_result, reasoning, text, call, bad = msg.content_blocks
    assert search_call == {
        "type": "server_tool_call",
        "id": "web_search",
        "name": "web_search",
        "args": {},
    }
    assert search_result == {
        "type": "server_tool_result",
        "tool_call_id": "web_search",
        "status": "success",
        "output": SEARCH,
    }
    assert reasoning == {"type": "reasoning", "reasoning": "Search, then answer."}
    assert text == {"type": "text", "text": "Rome is sunny."}
    assert call == {
        "type": "tool_call",
        "id": "call_1",
        "name": "weather",
        "args": {"city": "Rome"},
    }
    assert bad == {
        "type": "invalid_tool_call",
        "id": "call_2",
        "name": "weather",
        "args": "{bad",
        "error": "not JSON",
    }


def test_whitespace_of_a_finished_tool_turn_is_no_block_but_stays_content() -> None:
    msg = message("\n", tool_calls=[{"id": "c", "name": "f", "args": {}}])
    assert [b["type"] for b in msg.content_blocks] == ["tool_call"]
    assert msg.content == "\n"


def test_a_withheld_reply_ends_with_a_refusal() -> None:
    msg = message("Partial", response_metadata={"finish_reason": "sensitive"})
    assert msg.content_blocks[-1] == {
        "type": "refusal",
        "refusal": "GLM withheld the output for content safety (finish_reason='sensitive').",
        "extras": {"finish_reason": "sensitive"},
    }


def test_list_content_keeps_every_item() -> None:
    image = {"type": "image", "url": "https://example.com/cat.png"}
    odd = {"kind": "glm-only", "value": 1}
    msg = message(["First.", "  ", "", image, odd, {"type": "text", "text": "Last."}])
    assert msg.content_blocks == [
        {"type": "text", "text": "First."},
        image,
        {"type": "non_standard", "value": odd},
        {"type": "text", "text": "Last."},
    ]


def test_list_content_of_an_unfinished_chunk_keeps_whitespace() -> None:
    assert chunk(["\n"]).content_blocks == [{"type": "text", "text": "\n"}]


def test_stream_chunks_carry_stable_indexes() -> None:
    first = chunk(
        "",
        additional_kwargs={"reasoning_content": "Think."},
        response_metadata={"web_search": SEARCH},
    )
    assert [(b["type"], b.get("index")) for b in first.content_blocks] == [
        ("server_tool_call", "lc_glm_web_search_call"),
        ("server_tool_result", "lc_glm_web_search_result"),
        ("reasoning", "lc_glm_reasoning"),
    ]
    text = chunk("\n")  # whitespace mid-stream is text: later frames may continue it
    assert text.content_blocks == [{"type": "text", "text": "\n", "index": "lc_glm_text"}]
    tool = chunk(tool_call_chunks=[{"id": "c1", "name": "f", "args": '{"a"', "index": 0}])
    assert tool.content_blocks == [
        {
            "type": "tool_call_chunk",
            "id": "c1",
            "name": "f",
            "args": '{"a"',
            "index": "lc_glm_tool_0",
        }
    ]


def test_chunks_of_one_block_merge_into_one() -> None:
    parts = [chunk("Hel"), chunk("lo"), chunk("", response_metadata={"finish_reason": "stop"})]
    total = parts[0] + parts[1] + parts[2]
    assert total.content_blocks == [{"type": "text", "text": "Hello", "index": "lc_glm_text"}]


def test_a_chunk_with_finish_reason_drops_blank_text() -> None:
    assert chunk("\n", response_metadata={"finish_reason": "stop"}).content_blocks == []


def test_the_last_chunk_of_a_withheld_stream_is_a_refusal() -> None:
    last = chunk("\n", chunk_position="last", response_metadata={"finish_reason": "sensitive"})
    assert [b["type"] for b in last.content_blocks] == ["refusal"]


def test_the_last_chunk_lists_tool_calls_not_deltas() -> None:
    last = chunk(
        "",
        chunk_position="last",
        tool_call_chunks=[{"id": "c1", "name": "f", "args": '{"a": 1}', "index": 0}],
    )
    assert last.content_blocks == [{"type": "tool_call", "id": "c1", "name": "f", "args": {"a": 1}}]


@pytest.mark.parametrize("results", [None, []])
def test_no_search_results_no_search_blocks(results: Any) -> None:
    assert _compat.web_search_blocks(results) == []
    assert _compat.web_search_blocks(results, streaming=True) == []
