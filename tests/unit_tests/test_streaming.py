"""Tests of the pure stream parser, fed with frames shaped like the real captures (glm-api §8)."""

from __future__ import annotations

from functools import reduce
from typing import Any

from langchain_core.messages import AIMessageChunk

from langchain_glm._streaming import StreamParser

ID = "20251023225951823569fea7794962"


def frame(delta: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "delta": delta or {}}
    if "finish_reason" in top:
        choice["finish_reason"] = top.pop("finish_reason")
    return {"id": ID, "created": 1761231591, "model": "glm-4.6", "choices": [choice], **top}


USAGE = {
    "prompt_tokens": 179,
    "completion_tokens": 79,
    "total_tokens": 258,
    "prompt_tokens_details": {"cached_tokens": 178},
}
FINAL = frame({"role": "assistant", "content": ""}, finish_reason="tool_calls", usage=USAGE)

# T5: "\n" -> reasoning -> "\n" -> whole tool call -> finish
T5 = [
    frame({"role": "assistant", "content": "\n"}),
    frame({"role": "assistant", "reasoning_content": "The"}),
    frame({"role": "assistant", "reasoning_content": " user"}),
    frame({"role": "assistant", "content": "\n"}),
    frame(
        {
            "tool_calls": [
                {
                    "id": "call_bfc3f11b2be748a69f6c8475",
                    "index": 0,
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"location":"Florence,Italy"}'},
                }
            ]
        }
    ),
    FINAL,
]

# T3: reasoning, then "\n" + text with reasoning_content "" on content frames
T3 = [
    frame({"role": "assistant", "reasoning_content": "1"}),
    frame({"role": "assistant", "content": "", "reasoning_content": "."}),
    frame({"role": "assistant", "content": "\n", "reasoning_content": ""}),
    frame({"role": "assistant", "content": "The", "reasoning_content": ""}),
    frame({"role": "assistant", "content": "\n\n", "reasoning_content": ""}),
    frame({"role": "assistant", "content": "**", "reasoning_content": ""}),
    frame({"role": "assistant", "content": ""}, finish_reason="stop", usage=USAGE),
]


def run(frames: list[dict[str, Any]]) -> list[AIMessageChunk]:
    parser = StreamParser()
    chunks = [c for c in map(parser.feed, frames) if c is not None]
    return [*chunks, parser.finish()]


def aggregate(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    return reduce(lambda a, b: a + b, chunks)


def test_text_stream_t3() -> None:
    chunks = run(T3)
    message = aggregate(chunks)
    assert message.content == "\nThe\n\n**"
    assert message.additional_kwargs["reasoning_content"] == "1."
    assert [b["type"] for b in message.content_blocks] == ["reasoning", "text"]
    assert message.chunk_position == "last"


def test_metadata_and_usage_exactly_once() -> None:
    chunks = run([*T3[:-1], T3[-1], T3[-1]])  # finish frame repeated by the server
    with_usage = [c for c in chunks if c.usage_metadata]
    with_finish = [c for c in chunks if "finish_reason" in c.response_metadata]
    with_model = [c for c in chunks if "model_name" in c.response_metadata]
    assert len(with_usage) == len(with_finish) == len(with_model) == 1
    message = aggregate(chunks)
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.response_metadata["model_name"] == "glm-4.6"
    assert message.response_metadata["model_provider"] == "zhipuai"
    assert message.usage_metadata == {
        "input_tokens": 179,
        "output_tokens": 79,
        "total_tokens": 258,
        "input_token_details": {"cache_read": 178},
    }
    assert chunks[-1].chunk_position == "last"
    assert all(c.chunk_position is None for c in chunks[:-1])


def test_whitespace_before_reasoning_is_held_and_not_lost_t5() -> None:
    chunks = run(T5)
    assert [c.content for c in chunks[:-1]] == ["", "", ""]
    message = aggregate(chunks)
    assert message.content == "\n\n"  # nothing lost...
    assert [b["type"] for b in message.content_blocks] == [
        "reasoning",
        "tool_call",
    ]  # ...no text block
    assert message.tool_calls == [
        {
            "name": "weather",
            "args": {"location": "Florence,Italy"},
            "id": "call_bfc3f11b2be748a69f6c8475",
            "type": "tool_call",
        }
    ]


def test_whitespace_is_prepended_to_first_text() -> None:
    chunks = run(
        [frame({"content": "\n"}), frame({"reasoning_content": "r"}), frame({"content": "Hi"})]
    )
    assert [c.content for c in chunks if c.content] == ["\nHi"]


def test_tool_stream_fragments_merge_by_index() -> None:
    frames = [
        frame(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "f", "arguments": ""},
                    }
                ]
            }
        ),
        frame(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "g", "arguments": ""},
                    }
                ]
            }
        ),
        frame({"tool_calls": [{"index": 0, "function": {"arguments": '{"q":'}}]}),
        frame({"tool_calls": [{"index": 1, "function": {"arguments": '{"n": 1}'}}]}),
        frame({"tool_calls": [{"index": 0, "function": {"arguments": ' "天气"}'}}]}),
        FINAL,
    ]
    chunks = run(frames)
    assert [tc["id"] for c in chunks for tc in c.tool_call_chunks] == [
        "call_a",
        "call_b",
        None,
        None,
        None,
    ]
    message = aggregate(chunks)
    assert [(c["name"], c["args"], c["id"]) for c in message.tool_calls] == [
        ("f", {"q": "天气"}, "call_a"),
        ("g", {"n": 1}, "call_b"),
    ]


def test_bad_streamed_arguments_become_invalid_tool_calls() -> None:
    # Aggregation uses langchain-core's partial-JSON reading (a truncated object is
    # completed); arguments that cannot be read at all become invalid tool calls.
    frames = [
        frame(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "c",
                        "type": "function",
                        "function": {"name": "f", "arguments": "not json"},
                    }
                ]
            }
        ),
        FINAL,
    ]
    message = aggregate(run(frames))
    assert message.tool_calls == []
    assert message.invalid_tool_calls[0]["args"] == "not json"


def test_web_search_results_pass_once() -> None:
    results = [{"title": "t", "link": "https://example.com", "content": "c"}]
    frames = [
        frame({"role": "assistant", "content": "Hi"}, web_search=results),
        frame({"role": "assistant", "content": "!"}, web_search=results),
        FINAL,
    ]
    chunks = run(frames)
    assert sum("web_search" in c.response_metadata for c in chunks) == 1
    message = aggregate(chunks)
    assert message.response_metadata["web_search"] == results
    types = [b["type"] for b in message.content_blocks]
    assert types == ["server_tool_call", "server_tool_result", "text"]


def test_vllm_reasoning_field_and_no_usage() -> None:
    frames = [
        {
            "id": "chatcmpl-1",
            "model": "glm-4.6",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"reasoning": "think"}, "finish_reason": None}],
        },
        {
            "id": "chatcmpl-1",
            "model": "glm-4.6",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}],
        },
    ]
    message = aggregate(run(frames))
    assert message.additional_kwargs["reasoning_content"] == "think"
    assert message.content == "ok"
    assert message.usage_metadata is None


def test_frames_without_anything_new_yield_no_chunk() -> None:
    parser = StreamParser()
    assert parser.feed(frame({"role": "assistant", "content": "", "reasoning_content": ""})) is None
    assert parser.feed({"id": ID, "choices": []}) is None
