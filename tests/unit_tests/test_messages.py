"""Table-driven tests of the pure conversion layer."""

from __future__ import annotations

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

from langchain_glm import GLMAPIError, _request, _response
from langchain_glm._request import MessageConversionError

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
                    {"type": "file", "file": {"file_url": "https://example.com/doc.pdf"}},
                    {"type": "file_url", "file_url": {"url": "https://example.com/c.pdf"}},
                ],
            },
        ),
    ],
)
def test_message_to_glm(message: BaseMessage, expected: dict[str, Any]) -> None:
    assert _request.message_to_glm(message) == expected


def test_anthropic_style_tool_use_blocks_are_not_sent_as_text() -> None:
    message = AIMessage(
        content=[
            {"type": "text", "text": "calling"},
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "x"}},
        ],
        tool_calls=[CALL],
    )
    out = _request.message_to_glm(message)
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
    assert _request.message_to_glm(message) == {
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
    assert _request.message_to_glm(message)["tool_calls"] == [
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
        _request.messages_to_glm([HumanMessage("hi"), message])


def test_empty_conversation_is_rejected() -> None:
    with pytest.raises(MessageConversionError, match="at least one message"):
        _request.messages_to_glm([])


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
    assert _response.usage_to_metadata(usage) == expected


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
    calls, invalid = _response.parse_tool_calls(raw)
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
    message = _response.chat_result(body).generations[0].message
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
    message = _response.chat_result(body).generations[0].message
    assert isinstance(message, AIMessage)
    assert message.content == ""
    assert message.additional_kwargs["reasoning_content"] == "need weather"
    assert message.tool_calls[0]["args"] == {"location": "Florence"}
    assert message.usage_metadata is None


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "no choice with a message"),
        ({"id": "x", "choices": []}, "no choice with a message"),
        ({"choices": [{"index": 0, "finish_reason": "stop"}]}, "no choice with a message"),
        ({"choices": [None]}, "choices[0] is NoneType"),
        ({"choices": {"0": {}}}, "choices is dict"),
        ({"choices": [{"message": []}]}, "choices[0].message is list"),
        ({"choices": [{"message": {"content": 5}}]}, "message.content is int"),
        ({"choices": [{"message": {"reasoning_content": ["x"]}}]}, "reasoning_content is list"),
        ({"choices": [{"message": {"tool_calls": {"0": {}}}}]}, "message.tool_calls is dict"),
        ({"choices": [{"message": {"tool_calls": [None]}}]}, "tool_calls[0] is NoneType"),
        ({"choices": [{"message": {}}], "usage": "x"}, "usage is str"),
        ({"choices": [{"message": {}}], "usage": {"total_tokens": "9"}}, "total_tokens is str"),
        ({"choices": [{"message": {}}], "id": 7}, "id is int"),
        ({"choices": [{"message": {}, "finish_reason": 3}]}, "finish_reason is int"),
        ([], "the body is list"),
    ],
)
def test_chat_result_malformed_bodies_are_a_clear_error(body: Any, detail: str) -> None:
    with pytest.raises(GLMAPIError, match="GLM sent a malformed response") as info:
        _response.chat_result(body)
    assert detail in str(info.value)


def test_chat_result_inference_failure_is_a_retryable_error() -> None:
    body = {"choices": [{"finish_reason": "network_error", "message": {"content": "par"}}]}
    with pytest.raises(GLMAPIError, match="inference failed") as info:
        _response.chat_result(body)
    assert info.value.is_retryable


def test_chat_result_extra_fields_are_ignored() -> None:
    body = {
        "choices": [{"message": {"content": "hi", "audio": None, "new": 1}, "logprobs": {}}],
        "object": "chat.completion",
        "system_fingerprint": "fp",
    }
    message = _response.chat_result(body).generations[0].message
    assert message.content == "hi"


def test_empty_arguments_cut_off_by_length_are_invalid() -> None:
    raw = [{"id": "c", "function": {"name": "rm", "arguments": ""}}]
    assert _response.parse_tool_calls(raw)[0][0]["args"] == {}
    calls, invalid = _response.parse_tool_calls(raw, finish_reason="length")
    assert calls == []
    assert invalid[0]["error"] is not None
    assert "cut off" in invalid[0]["error"]


FILE_BLOCKS = [
    (
        {"type": "file", "url": "https://x/a.pdf", "filename": "a.pdf"},
        {"file_url": "https://x/a.pdf", "filename": "a.pdf"},
    ),
    (
        {"type": "file", "base64": "JVBER", "mime_type": "application/pdf"},
        {"file_data": "data:application/pdf;base64,JVBER"},
    ),
    ({"type": "file", "file_id": "file-123", "extras": {"filename": "b.pdf"}}, None),
    (
        {"type": "file", "source_type": "base64", "data": "QUJD", "mime_type": "text/plain"},
        {"file_data": "data:text/plain;base64,QUJD"},
    ),
    (
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JV", "filename": "c"}},
        {"file_data": "data:application/pdf;base64,JV", "filename": "c"},
    ),
    ({"type": "file", "file": {"file_id": "file-9"}}, {"file_id": "file-9"}),
]


@pytest.mark.parametrize(("block", "expected"), FILE_BLOCKS)
def test_file_blocks_become_glm_file_parts(block: dict[str, Any], expected: Any) -> None:
    expected = expected or {"file_id": "file-123", "filename": "b.pdf"}
    sent = _request.message_to_glm(HumanMessage(content=[{"type": "text", "text": "t"}, block]))
    assert sent["content"][1] == {"type": "file", "file": expected}


def test_legacy_models_get_file_url_parts_by_url_only() -> None:
    by_url = HumanMessage(content=[{"type": "file", "url": "https://x/a.pdf"}])
    assert _request.message_to_glm(by_url, legacy_files=True)["content"] == [
        {"type": "file_url", "file_url": {"url": "https://x/a.pdf"}}
    ]
    inline = HumanMessage(content=[{"type": "file", "base64": "JV", "mime_type": "a/b"}])
    with pytest.raises(MessageConversionError, match="by URL only"):
        _request.message_to_glm(inline, legacy_files=True)


@pytest.mark.parametrize(
    ("block", "fragment"),
    [
        ({"type": "file", "base64": "JV"}, "mime_type"),
        ({"type": "file"}, "file_id, file_url or file_data"),
        ({"type": "file", "file": {"bogus": 1}}, "file_id, file_url or file_data"),
    ],
)
def test_bad_file_blocks_are_clear_errors(block: dict[str, Any], fragment: str) -> None:
    with pytest.raises(MessageConversionError, match=fragment):
        _request.message_to_glm(HumanMessage(content=[block]))
