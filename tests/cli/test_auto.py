"""The offline model (`auto_reply`) is plausible: a tool only when the message fits it."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

from langchain_glm.cli._tools import DEMO_TOOLS
from langchain_glm.testing import GLMService, RecordedRequest, auto_reply

TOOLS = [convert_to_openai_tool(tool) for tool in DEMO_TOOLS]


def _reply(said: str, **body: Any) -> Any:
    request = RecordedRequest(
        method="POST",
        path="/api/paas/v4/chat/completions",
        headers={},
        body=b"",
        json={"model": "glm-4.6", "messages": [{"role": "user", "content": said}], **body},
    )
    return auto_reply(request)


@pytest.mark.parametrize(
    ("said", "call"),
    [
        (
            "What is 17 * 23 + 4?",
            {"name": "calculator", "arguments": {"expression": "17 * 23 + 4"}},
        ),
        (
            "and (2 + 3) ** 2, please",
            {"name": "calculator", "arguments": {"expression": "(2 + 3) ** 2"}},
        ),
        (
            "What time is it in Europe/Rome?",
            {"name": "clock", "arguments": {"timezone": "Europe/Rome"}},
        ),
        ("what's the time?", {"name": "clock", "arguments": {}}),
        ("Use the calculator on '6*7'", {"name": "calculator", "arguments": {"expression": "6*7"}}),
    ],
)
def test_a_tool_is_called_when_the_message_fits_it(said: str, call: dict[str, Any]) -> None:
    assert _reply(said, tools=TOOLS).tool_calls == [call]


@pytest.mark.parametrize("said", ["hello there", "Tell me about 1984.", "Name a colour."])
def test_other_messages_get_text(said: str) -> None:
    reply = _reply(said, tools=TOOLS)
    assert reply.tool_calls is None or list(reply.tool_calls) == []
    assert reply.text == f"Hi there! Here is my answer to you: {said}"


def test_reasoning_and_its_tokens_only_with_thinking_on() -> None:
    on = _reply("hello")
    off = _reply("hello", thinking={"type": "disabled"})
    assert on.reasoning
    assert on.usage["reasoning_tokens"] > 0
    assert (off.reasoning, off.usage["reasoning_tokens"]) == ("", 0)
    assert _reply("hello", model="glm-5.2", reasoning_effort="none").usage["reasoning_tokens"] == 0


def test_the_served_answer_has_no_reasoning_tokens_when_thinking_is_off() -> None:
    service = GLMService()
    service.script(auto_reply)
    body = {"model": "glm-4.6", "messages": [{"role": "user", "content": "hi"}]}
    status, answer = service.answer({**body, "thinking": {"type": "disabled"}})
    assert status == 200
    details = answer["usage"].get("completion_tokens_details") or {}
    assert details.get("reasoning_tokens", 0) == 0
