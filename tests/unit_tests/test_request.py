"""Table-driven tests of the pure request-body builder."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

from langchain_glm import _request
from langchain_glm._models import spec_for


def build_payload(messages: Any, params: dict[str, Any]) -> dict[str, Any]:
    return _request.build_request(messages, params).body


@pytest.mark.parametrize(
    ("stop", "expected"),
    [(None, None), ([], None), ("END", ["END"]), (["END"], ["END"]), (["", "END"], ["END"])],
)
def test_normalize_stop(stop: Any, expected: list[str] | None) -> None:
    assert _request.normalize_stop(stop) == expected


def test_more_stop_words_than_the_model_takes_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"glm-4\.6 accepts at most 1 stop"):
        _request.stop_words(["a", "b"], spec_for("glm-4.6"))
    assert _request.stop_words(["a", "b", "c", "d"], spec_for("glm-5.3")) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match=r"glm-5\.3 accepts at most 4 stop"):
        _request.stop_words(list("abcde"), spec_for("glm-5.3"))
    assert _request.stop_words(list("abcdefgh"), None) == list("abcdefgh")


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
    assert _request.thinking_param(thinking, clear) == expected


def _params(**overrides: Any) -> dict[str, Any]:
    return {"model": "glm-4.6", "stream": False, **overrides}


def test_build_payload_minimal_and_full() -> None:
    assert build_payload([HumanMessage("hi")], _params()) == {
        "model": "glm-4.6",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": False,
    }
    full = build_payload(
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
            extra={"request_id": "r1", "tools": [_request.tool_to_glm(_Weather)]},
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
    tools = {"tools": [_request.tool_to_glm(_Weather)]}
    not_streaming = build_payload([HumanMessage("x")], _params(tool_stream=True, extra=tools))
    no_tools = build_payload([HumanMessage("x")], _params(stream=True, tool_stream=True))
    assert "tool_stream" not in not_streaming
    assert "tool_stream" not in no_tools


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"temperature": 1.5}, "temperature"),
        ({"top_p": -0.1}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": ["a", "b"]}, "stop"),
        ({"stop": 5}, "a string or a list of strings"),
        ({"stop": [1]}, "a string or a list of strings"),
        ({"top_p": 0}, r"top_p=0 is outside glm-4\.6's range"),
        ({"max_tokens": 131073}, "max_tokens"),
        ({"model": ""}, "model"),
        ({"model": "  "}, "model"),
    ],
)
def test_bad_parameters_fail_before_sending(params: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        build_payload([HumanMessage("x")], _params(**params))


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
    extra = {"tools": [_request.tool_to_glm(_Weather)], "tool_choice": choice}
    body = build_payload([SystemMessage("sys"), HumanMessage("x")], _params(extra=extra))
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
        _request.tool_to_glm(_Weather),
        {"type": "function", "function": {"name": "other", "parameters": {}}},
    ]
    body = build_payload([HumanMessage("x")], _params(extra={"tools": tools, "tool_choice": "any"}))
    assert body["messages"][0]["role"] == "system"
    assert "one of the provided tools" in body["messages"][0]["content"]
    assert body["messages"][1] == {"role": "user", "content": "x"}


def test_builtin_tools_pass_through() -> None:
    search = {"type": "web_search", "web_search": {"enable": True, "search_result": True}}
    assert _request.tool_to_glm(search) == search
    assert _request.tool_to_glm(_Weather)["function"]["name"] == "_Weather"
    assert json.dumps(_request.tool_to_glm(_Weather))
