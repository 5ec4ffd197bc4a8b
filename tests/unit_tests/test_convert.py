"""Table-driven tests of the pure conversion layer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from pydantic import BaseModel

from langchain_glm import _convert
from langchain_glm._convert import MessageConversionError

CALL = {"name": "weather", "args": {"city": "北京"}, "id": "call_1", "type": "tool_call"}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (SystemMessage("be brief"), {"role": "system", "content": "be brief"}),
        (HumanMessage("hi"), {"role": "user", "content": "hi"}),
        (
            HumanMessage(
                content=[{"type": "text", "text": "a"}, {"type": "text", "text": ""}, "b"]
            ),
            {"role": "user", "content": "a\nb"},
        ),
        (AIMessage("hello"), {"role": "assistant", "content": "hello"}),
        (
            AIMessage("", tool_calls=[CALL]),
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "北京"}'},
                    }
                ],
            },
        ),
        (
            AIMessage("ok", additional_kwargs={"reasoning_content": "thought"}),
            {"role": "assistant", "content": "ok", "reasoning_content": "thought"},
        ),
        (
            AIMessage(
                content=[
                    {"type": "reasoning", "reasoning": "v1 thought"},
                    {"type": "text", "text": "answer"},
                ],
                response_metadata={"model_provider": "zhipuai"},
            ),
            {"role": "assistant", "content": "answer", "reasoning_content": "v1 thought"},
        ),
        (
            AIMessage(
                "theirs",
                additional_kwargs={"reasoning_content": "other provider's"},
                response_metadata={"model_provider": "deepseek"},
            ),
            {"role": "assistant", "content": "theirs"},
        ),
        (
            ToolMessage("40 C", tool_call_id="call_1"),
            {"role": "tool", "tool_call_id": "call_1", "content": "40 C"},
        ),
        (
            ToolMessage("boom", tool_call_id="call_2", status="error"),
            {"role": "tool", "tool_call_id": "call_2", "content": "boom"},
        ),
        (ChatMessage(role="user", content="x"), {"role": "user", "content": "x"}),
        (
            HumanMessage(
                content=[
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "image", "url": "https://example.com/cat.png"},
                    {"type": "image", "base64": "BBBB", "mime_type": "image/png"},
                    {"type": "video", "url": "https://example.com/clip.mp4"},
                    {"type": "video_url", "video_url": {"url": "https://example.com/b.mp4"}},
                    {"type": "file", "url": "https://example.com/doc.pdf"},
                    {"type": "file_url", "file_url": {"url": "https://example.com/c.pdf"}},
                ]
            ),
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "AAAA"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                    {"type": "image_url", "image_url": {"url": "BBBB"}},
                    {"type": "video_url", "video_url": {"url": "https://example.com/clip.mp4"}},
                    {"type": "video_url", "video_url": {"url": "https://example.com/b.mp4"}},
                    {"type": "file_url", "file_url": {"url": "https://example.com/doc.pdf"}},
                    {"type": "file_url", "file_url": {"url": "https://example.com/c.pdf"}},
                ],
            },
        ),
    ],
)
def test_message_to_glm(message: BaseMessage, expected: dict[str, Any]) -> None:
    assert _convert.message_to_glm(message) == expected


def test_anthropic_style_tool_use_blocks_are_not_sent_as_text() -> None:
    message = AIMessage(
        content=[
            {"type": "text", "text": "calling"},
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "x"}},
        ],
        tool_calls=[CALL],
    )
    out = _convert.message_to_glm(message)
    assert out["content"] == "calling"
    assert out["tool_calls"][0]["id"] == "call_1"


def test_v1_history_with_search_results_and_refusals_goes_back_as_text_only() -> None:
    message = AIMessage(
        content=[
            {"type": "server_tool_call", "id": "web_search", "name": "web_search", "args": {}},
            {"type": "server_tool_result", "tool_call_id": "web_search", "status": "success"},
            {"type": "reasoning", "reasoning": "found it"},
            {"type": "text", "text": "GLM-4.6 is out."},
            {"type": "refusal", "refusal": "withheld"},
        ],
        response_metadata={"model_provider": "zhipuai", "output_version": "v1"},
    )
    assert _convert.message_to_glm(message) == {
        "role": "assistant",
        "content": "GLM-4.6 is out.",
        "reasoning_content": "found it",
    }


def test_invalid_tool_calls_are_sent_back_verbatim() -> None:
    message = AIMessage(
        "",
        invalid_tool_calls=[
            {"name": "f", "args": "{bad", "id": "c9", "error": "x", "type": "invalid_tool_call"}
        ],
    )
    assert _convert.message_to_glm(message)["tool_calls"] == [
        {"id": "c9", "type": "function", "function": {"name": "f", "arguments": "{bad"}}
    ]


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        (FunctionMessage(name="f", content="x"), "FunctionMessage"),
        (ChatMessage(role="critic", content="x"), "role 'critic'"),
        (SystemMessage(content=[{"type": "image_url", "image_url": {"url": "u"}}]), "'image_url'"),
        (HumanMessage(content=[{"type": "audio", "base64": "x"}]), "'audio'"),
        (HumanMessage(content=[{"type": "video", "base64": "x"}]), "'video'"),
        (ToolMessage(content=[{"type": "file", "url": "u"}], tool_call_id="1"), "'file'"),
    ],
)
def test_unsupported_input_is_a_clear_error(message: BaseMessage, fragment: str) -> None:
    with pytest.raises(MessageConversionError, match=fragment):
        _convert.messages_to_glm([HumanMessage("hi"), message])


def test_empty_conversation_is_rejected() -> None:
    with pytest.raises(MessageConversionError, match="at least one message"):
        _convert.messages_to_glm([])


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (
            {"prompt_tokens": 18, "completion_tokens": 859, "total_tokens": 877},
            {"input_tokens": 18, "output_tokens": 859, "total_tokens": 877},
        ),
        (
            {
                "prompt_tokens": 179,
                "completion_tokens": 79,
                "total_tokens": 258,
                "prompt_tokens_details": {"cached_tokens": 178},
                "completion_tokens_details": {"reasoning_tokens": 65},
            },
            {
                "input_tokens": 179,
                "output_tokens": 79,
                "total_tokens": 258,
                "input_token_details": {"cache_read": 178},
                "output_token_details": {"reasoning": 65},
            },
        ),
        (
            {"prompt_tokens": 2, "completion_tokens": 3},
            {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5},
        ),
    ],
)
def test_usage_to_metadata(usage: dict[str, Any], expected: dict[str, Any]) -> None:
    assert _convert.usage_to_metadata(usage) == expected


@pytest.mark.parametrize(
    ("arguments", "valid"),
    [
        ('{"a":2,"b":3}', True),
        ('{"age": 30, "city": "Paris"}', True),
        ({"already": "a dict"}, True),
        ("", True),
        ("{not json", False),
        ("[1, 2]", False),
    ],
)
def test_parse_tool_calls_never_raises(arguments: Any, valid: bool) -> None:
    raw = [
        {
            "id": "c1",
            "index": 0,
            "type": "function",
            "function": {"name": "f", "arguments": arguments},
        }
    ]
    calls, invalid = _convert.parse_tool_calls(raw)
    assert (len(calls), len(invalid)) == ((1, 0) if valid else (0, 1))
    if not valid:
        assert invalid[0]["args"] == arguments
        assert invalid[0]["error"]


def test_chat_result_from_real_capture_t1() -> None:
    body = {
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "message": {
                    "content": "\nOi!",
                    "reasoning_content": "1. Analyze",
                    "role": "assistant",
                },
            }
        ],
        "created": 1761231561,
        "id": "20251023225903cf0228dfd8f1415d",
        "model": "glm-4.6",
        "request_id": "20251023225903cf0228dfd8f1415d",
        "usage": {
            "completion_tokens": 859,
            "prompt_tokens": 18,
            "prompt_tokens_details": {"cached_tokens": 0},
            "total_tokens": 877,
        },
    }
    message = _convert.chat_result(body).generations[0].message
    assert isinstance(message, AIMessage)
    assert message.content == "\nOi!"
    assert message.additional_kwargs == {"reasoning_content": "1. Analyze"}
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.response_metadata["model_name"] == "glm-4.6"
    assert message.response_metadata["model_provider"] == "zhipuai"
    assert message.usage_metadata == {
        "input_tokens": 18,
        "output_tokens": 859,
        "total_tokens": 877,
        "input_token_details": {"cache_read": 0},
    }
    assert [b["type"] for b in message.content_blocks] == ["reasoning", "text"]


def test_chat_result_reads_vllm_reasoning_field_and_tool_call_without_content() -> None:
    body = {
        "id": "chatcmpl-1",
        "model": "glm-4.6",
        "choices": [
            {
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "reasoning": "need weather",
                    "tool_calls": [
                        {
                            "id": "call_-8223349338831929811",
                            "index": 0,
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"location":"Florence"}'},
                        }
                    ],
                },
            }
        ],
    }
    message = _convert.chat_result(body).generations[0].message
    assert isinstance(message, AIMessage)
    assert message.content == ""
    assert message.additional_kwargs["reasoning_content"] == "need weather"
    assert message.tool_calls[0]["args"] == {"location": "Florence"}
    assert message.usage_metadata is None


@pytest.mark.parametrize(
    ("stop", "expected"),
    [(None, None), ([], None), ("END", ["END"]), (["END"], ["END"]), (["", "END"], ["END"])],
)
def test_normalize_stop(stop: Any, expected: list[str] | None) -> None:
    assert _convert.normalize_stop(stop) == expected


def test_more_than_one_stop_word_is_rejected() -> None:
    with pytest.raises(ValueError, match="single stop sequence"):
        _convert.normalize_stop(["a", "b"])


@pytest.mark.parametrize(
    ("thinking", "clear", "expected"),
    [
        (None, None, None),
        (True, None, {"type": "enabled"}),
        (False, None, {"type": "disabled"}),
        (None, False, {"type": "enabled", "clear_thinking": False}),
        (True, True, {"type": "enabled", "clear_thinking": True}),
    ],
)
def test_thinking_param(thinking: bool | None, clear: bool | None, expected: Any) -> None:
    assert _convert.thinking_param(thinking, clear) == expected


def _params(**overrides: Any) -> dict[str, Any]:
    return {"model": "glm-4.6", "stream": False, **overrides}


def test_build_payload_minimal_and_full() -> None:
    assert _convert.build_payload([HumanMessage("hi")], _params()) == {
        "model": "glm-4.6",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": False,
    }
    full = _convert.build_payload(
        [HumanMessage("hi")],
        _params(
            stream=True,
            temperature=0.0,
            top_p=0.9,
            max_tokens=50,
            do_sample=False,
            stop=["x"],
            thinking=False,
            tool_stream=True,
            extra={"request_id": "r1", "tools": [_convert.tool_to_glm(_Weather)]},
        ),
    )
    assert full["thinking"] == {"type": "disabled"}
    assert full["stop"] == ["x"]
    assert (full["temperature"], full["top_p"], full["max_tokens"]) == (0.0, 0.9, 50)
    assert full["do_sample"] is False
    assert full["request_id"] == "r1"
    assert full["tool_stream"] is True
    assert full["tool_choice"] == "auto"


def test_tool_stream_needs_streaming_and_tools() -> None:
    tools = {"tools": [_convert.tool_to_glm(_Weather)]}
    not_streaming = _convert.build_payload(
        [HumanMessage("x")], _params(tool_stream=True, extra=tools)
    )
    no_tools = _convert.build_payload([HumanMessage("x")], _params(stream=True, tool_stream=True))
    assert "tool_stream" not in not_streaming
    assert "tool_stream" not in no_tools


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"temperature": 1.5}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": ["a", "b"]}, "stop"),
    ],
)
def test_bad_parameters_fail_before_sending(params: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        _convert.build_payload([HumanMessage("x")], _params(**params))


class _Weather(BaseModel):
    """Get the weather."""

    city: str


@pytest.mark.parametrize(
    ("choice", "sent_tools", "instruction"),
    [
        (None, True, None),
        ("auto", True, None),
        ("none", False, None),
        ("any", True, "`_Weather`"),
        ("required", True, "`_Weather`"),
        (True, True, "`_Weather`"),
        ("_Weather", True, "`_Weather`"),
        ({"type": "function", "function": {"name": "_Weather"}}, True, "`_Weather`"),
    ],
)
def test_tool_choice_is_always_auto_on_the_wire(
    choice: Any, sent_tools: bool, instruction: str | None
) -> None:
    extra = {"tools": [_convert.tool_to_glm(_Weather)], "tool_choice": choice}
    body = _convert.build_payload([SystemMessage("sys"), HumanMessage("x")], _params(extra=extra))
    assert ("tools" in body) is sent_tools
    assert body.get("tool_choice") == ("auto" if sent_tools else None)
    system = body["messages"][0]["content"]
    if instruction is None:
        assert system == "sys"
    else:
        assert system.startswith("sys\n\n")
        assert instruction in system


def test_forcing_with_several_tools_names_none_and_inserts_system_message() -> None:
    tools = [
        _convert.tool_to_glm(_Weather),
        {"type": "function", "function": {"name": "other", "parameters": {}}},
    ]
    body = _convert.build_payload(
        [HumanMessage("x")], _params(extra={"tools": tools, "tool_choice": "any"})
    )
    assert body["messages"][0]["role"] == "system"
    assert "one of the provided tools" in body["messages"][0]["content"]
    assert body["messages"][1] == {"role": "user", "content": "x"}


def test_builtin_tools_pass_through() -> None:
    search = {"type": "web_search", "web_search": {"enable": True, "search_result": True}}
    assert _convert.tool_to_glm(search) == search
    assert _convert.tool_to_glm(_Weather)["function"]["name"] == "_Weather"
    assert json.dumps(_convert.tool_to_glm(_Weather))
