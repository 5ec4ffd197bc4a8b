"""Broken answers over real loopback HTTP: cut-off tool calls, failed inference, empty or
wrong-typed bodies. Each ends as a typed `ModelError` or an invalid tool call, never as a
message that looks complete. Every scenario runs through the sync and async paths."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.exceptions import ModelAPIError
from langchain_core.messages import AIMessageChunk

from langchain_glm.testing import GLMServer
from tests.e2e.test_captures import MODES, invoke, joined, make, stream

TOOL = {
    "type": "function",
    "function": {
        "name": "list_dir",
        "description": "List a directory.",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string"}, "recursive": {"type": "boolean"}},
        },
    },
}
CUT = '{"path": "/home/user/important", "recursive": tr'


def agent(server: GLMServer, **kwargs: Any) -> Any:
    return make(server, tool_stream=True, max_retries=0, **kwargs).bind_tools([TOOL])


@pytest.mark.parametrize("mode", MODES)
def test_cut_off_tool_call_never_reaches_tool_calls(glm_server: GLMServer, mode: str) -> None:
    call = {"name": "list_dir", "arguments": CUT, "id": "call_1"}
    glm_server.reply(tool_calls=[call], finish_reason="length", chunk_size=5, times=3)
    streamed = joined(stream(agent(glm_server), mode, "list it"))
    invoked = invoke(agent(glm_server, streaming=True), mode, "list it")
    plain = invoke(agent(glm_server), mode, "list it")  # non-stream: GLM's text as sent
    for message in (streamed, invoked, plain):
        assert message.tool_calls == []
        [bad] = message.invalid_tool_calls
        assert (bad["name"], bad["id"]) == ("list_dir", "call_1")
        assert bad["args"] is not None
        assert bad["args"].startswith(CUT)
    assert glm_server.requests[0].json["tool_stream"] is True


@pytest.mark.parametrize("mode", MODES)
def test_inference_failure_is_a_retryable_error(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply(text="partial answer", finish_reason="network_error", times=2)
    llm = make(glm_server, max_retries=0)
    with pytest.raises(ModelAPIError, match="inference failed") as info:
        invoke(llm, mode)
    assert info.value.is_retryable
    seen: list[AIMessageChunk] = []
    chunks = llm.stream("hi")
    with pytest.raises(ModelAPIError, match="inference failed"):
        seen.extend(chunks)  # the chunks before the failure are handed out
    assert "".join(c.text for c in seen) == "partial answer"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("body", [{}, {"id": "x", "choices": []}, {"choices": [{"index": 0}]}])
def test_an_answer_without_a_choice_is_an_error(
    glm_server: GLMServer, mode: str, body: dict[str, Any]
) -> None:
    glm_server.reply_raw(json.dumps(body), content_type="application/json", times=3)
    with pytest.raises(ModelAPIError, match="GLM sent a malformed response"):
        invoke(make(glm_server, max_retries=0), mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "message",
    [{"content": 5}, {"reasoning_content": ["x"]}, {"tool_calls": {"0": {}}}, "text"],
)
def test_wrong_types_in_a_body_are_a_malformed_response(
    glm_server: GLMServer, mode: str, message: Any
) -> None:
    body = {"id": "x", "choices": [{"index": 0, "message": message}], "usage": {}}
    glm_server.reply_raw(json.dumps(body), content_type="application/json", times=3)
    with pytest.raises(ModelAPIError, match="GLM sent a malformed response"):
        invoke(make(glm_server, max_retries=0), mode)
