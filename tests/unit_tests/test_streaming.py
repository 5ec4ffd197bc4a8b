"""Tests of the pure stream parser, fed with frames shaped like the real captures in e2e."""

from __future__ import annotations

import asyncio
from functools import reduce
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk

from langchain_glm import GLMAPIError
from langchain_glm._streaming import StreamParser, text_chunk
from tests.unit_tests.test_chat_models import MODES, Mode, Server, invoke, sse
from tests.unit_tests.test_chat_models import stream as collect

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
    return [*chunks, *parser.finish()]


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


# ---------------------------------------------------------------- cut-off tool calls

CUT = '{"path": "/home/user/important", "recursive": tr'


def tool_frames(arguments: str, finish_reason: str = "length") -> list[dict[str, Any]]:
    opening = {"index": 0, "id": "call_1", "type": "function"}
    return [
        frame({"tool_calls": [{**opening, "function": {"name": "list_dir", "arguments": ""}}]}),
        *(
            frame({"tool_calls": [{"index": 0, "function": {"arguments": arguments[i : i + 7]}}]})
            for i in range(0, len(arguments), 7)
        ),
        frame({"content": ""}, finish_reason=finish_reason, usage=USAGE),
    ]


def test_cut_off_tool_call_is_invalid_not_guessed() -> None:
    message = aggregate(run(tool_frames(CUT)))
    assert message.tool_calls == []
    [bad] = message.invalid_tool_calls
    assert (bad["name"], bad["id"]) == ("list_dir", "call_1")
    assert bad["args"] is not None
    assert bad["args"].startswith(CUT)  # GLM's text is kept, plus a closing bracket
    assert [b["type"] for b in message.content_blocks] == ["invalid_tool_call"]
    assert message.response_metadata["finish_reason"] == "length"


@pytest.mark.parametrize(
    "arguments",
    [
        '{"a": "x\\',  # cut after a backslash inside a string
        '{"a": "x',  # inside a string
        '{"a": [1, 2',  # inside an array
        '{"a": {"b": 1}',  # nested object closed, outer open
        "{",
        '{"a"',
        "",  # cut before any argument text
    ],
)
def test_every_cut_off_shape_is_invalid(arguments: str) -> None:
    message = aggregate(run(tool_frames(arguments)))
    assert message.tool_calls == []
    assert len(message.invalid_tool_calls) == 1


@pytest.mark.parametrize("finish_reason", ["tool_calls", "length", "stop"])
def test_complete_arguments_stay_valid_whatever_the_finish(finish_reason: str) -> None:
    message = aggregate(run(tool_frames('{"path": "/srv", "recursive": true}', finish_reason)))
    assert message.invalid_tool_calls == []
    assert message.tool_calls[0]["args"] == {"path": "/srv", "recursive": True}


def test_cut_off_call_beside_a_complete_one() -> None:
    frames = [
        frame(
            {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}}]}
        ),
        frame(
            {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": CUT}}]}
        ),
        frame({}, finish_reason="length"),
    ]
    message = aggregate(run(frames))
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("f", {})]
    assert [c["name"] for c in message.invalid_tool_calls] == ["g"]


def test_an_empty_response_id_is_absent_and_the_next_one_counts() -> None:
    chunks = run([{**frame({"content": "Hi"}), "id": ""}, frame({}, finish_reason="stop")])
    assert aggregate(chunks).id == ID


def test_a_new_id_at_a_known_index_is_a_new_call() -> None:
    # Some gateways drop `index`, so every call lands on position 0. langchain-core
    # then keeps calls with different ids apart, and the parser tracks them the same
    # way: the cut-off second call is the invalid one, the first stays valid.
    frames = [
        frame({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": ""}}]}),
        frame({"tool_calls": [{"function": {"arguments": "{}"}}]}),
        frame({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": CUT}}]}),
        frame({}, finish_reason="length"),
    ]
    message = aggregate(run(frames))
    assert [(c["id"], c["name"], c["args"]) for c in message.tool_calls] == [("a", "f", {})]
    [bad] = message.invalid_tool_calls
    assert (bad["id"], bad["name"]) == ("b", "g")
    assert bad["args"] is not None
    assert bad["args"].startswith(CUT)


def cut_off_server() -> Server:
    body = sse(tool_frames(CUT))
    return Server(
        *[httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)] * 4
    )


@pytest.mark.parametrize("mode", MODES)
def test_cut_off_call_through_stream_invoke_and_v1(mode: Mode) -> None:
    server = cut_off_server()
    llm = server.model()
    streamed = aggregate(collect(llm, mode, "list it"))
    invoked = invoke(server.model(streaming=True), mode, "list it")
    v1 = aggregate(collect(server.model(output_version="v1"), mode, "list it"))
    v1_invoked = invoke(server.model(streaming=True, output_version="v1"), mode, "list it")
    for message in (streamed, invoked, v1, v1_invoked):
        assert isinstance(message, AIMessage)
        assert message.tool_calls == []
        assert [c["name"] for c in message.invalid_tool_calls] == ["list_dir"]
    for message in (v1, v1_invoked):
        assert isinstance(message.content, list)
        assert all(block["type"] != "tool_call" for block in message.content)  # type: ignore[index]


# ---------------------------------------------------------------- broken answers, wrong types


def test_a_stream_without_any_choice_is_an_error() -> None:
    parser = StreamParser()
    assert parser.feed({"id": ID, "usage": USAGE}) is None
    with pytest.raises(GLMAPIError, match="malformed response: the stream ended without any"):
        parser.finish()


def test_network_error_finish_is_a_retryable_error() -> None:
    parser = StreamParser()
    assert parser.feed(frame({"content": "Hal"})) is not None
    parser.feed(frame({}, finish_reason="network_error"))
    with pytest.raises(GLMAPIError, match="inference failed") as info:
        parser.finish()
    assert info.value.is_retryable


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        ({"choices": [None]}, "choices[0] is NoneType"),
        ({"choices": {"0": {}}}, "choices is dict"),
        ({"choices": [{"delta": []}]}, "choices[0].delta is list"),
        ({"choices": [{"delta": {"content": 5}}]}, "delta.content is int"),
        ({"choices": [{"delta": {"reasoning_content": ["x"]}}]}, "delta.reasoning_content is list"),
        ({"choices": [{"delta": {"tool_calls": {"0": {}}}}]}, "delta.tool_calls is dict"),
        ({"choices": [{"delta": {"tool_calls": [7]}}]}, "tool_calls[0] is int"),
        (
            {"choices": [{"delta": {"tool_calls": [{"function": "f"}]}}]},
            "tool_calls[0].function is str",
        ),
        (
            {"choices": [{"delta": {"tool_calls": [{"function": {"arguments": 3}}]}}]},
            "function.arguments is int",
        ),
        ({"choices": [{"delta": {"tool_calls": [{"index": "0"}]}}]}, "tool_calls[0].index is str"),
        ({"choices": [{"finish_reason": 1, "delta": {}}]}, "finish_reason is int"),
        ({"usage": "x", "choices": []}, "usage is str"),
        ({"usage": {"prompt_tokens": "9"}, "choices": []}, "usage.prompt_tokens is str"),
        ({"id": 5, "choices": []}, "id is int"),
        ({"model": ["glm"], "choices": []}, "model is list"),
    ],
)
def test_wrong_types_are_a_malformed_response(bad: dict[str, Any], path: str) -> None:
    parser = StreamParser()
    kept = parser.feed(frame({"content": "kept"}))
    with pytest.raises(GLMAPIError, match="GLM sent a malformed response") as info:  # noqa: PT012
        parser.feed(bad)
        parser.finish()  # usage is read when the stream closes
    assert path in str(info.value)
    assert kept is not None
    assert kept.content == "kept"


@pytest.mark.parametrize("mode", MODES)
def test_wrong_types_through_chat_glm_keep_the_text_yielded(mode: Mode) -> None:
    frames = [frame({"content": "Hello"}), {"id": ID, "choices": [None]}]
    body = sse(frames)
    server = Server(
        httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    seen: list[AIMessageChunk] = []

    async def agather() -> None:
        async for chunk in server.model().astream("hi"):
            seen.append(chunk)  # noqa: PERF401 (keep what came before the error)

    def gather() -> None:
        seen.extend(server.model().stream("hi"))

    with pytest.raises(GLMAPIError, match="malformed response: choices\\[0\\] is NoneType"):
        gather() if mode == "sync" else asyncio.run(agather())
    assert "".join(c.text for c in seen) == "Hello"


# ---------------------------------------------------------------- chunks of their own


def test_core_assignments_change_only_their_own_chunk() -> None:
    # BaseChatModel.stream assigns `id` and `response_metadata` on every chunk.
    first, second = text_chunk("a", None, None), text_chunk("b", None, None)
    first.id = "lc_run-1"
    first.response_metadata = {"model_provider": "zhipuai", "x": 1}
    first.model_fields_set.add("name")
    assert second.id is None
    assert second.response_metadata == {"model_provider": "zhipuai"}
    assert "name" not in second.model_fields_set
