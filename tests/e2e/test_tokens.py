"""Exact token counting through GLM's tokenizer endpoint, against the local server."""

from __future__ import annotations

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, trim_messages
from pydantic import BaseModel

from langchain_glm import ChatGLM, GLMNotFoundError
from langchain_glm.testing import GLMServer


class Weather(BaseModel):
    """Get the weather."""

    city: str


def test_counts_messages_and_tools_without_using_scripted_replies(glm_server: GLMServer) -> None:
    glm_server.reply(text="scripted")
    llm = ChatGLM(model="glm-4.6", base_url=glm_server.base_url, api_key="k")
    messages = [SystemMessage("Be brief."), HumanMessage("How many tokens is this?")]
    count = llm.get_num_tokens_from_messages(messages)
    with_tools = llm.get_num_tokens_from_messages(messages, tools=[Weather])
    sent = glm_server.requests[1].json
    assert glm_server.requests[0].path == "/api/paas/v4/tokenizer"
    assert sent["tools"][0]["function"]["name"] == "Weather"
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "How many tokens is this?"},
    ]
    assert count > 0
    assert with_tools > count
    assert glm_server.pending == 1  # counting did not consume the queued chat reply
    reply = llm.invoke(messages)
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == count  # same count as a chat turn reports


def test_get_num_tokens_and_trim_messages(glm_server: GLMServer) -> None:
    llm = ChatGLM(base_url=glm_server.base_url, api_key="k")
    assert llm.get_num_tokens("hello") == llm.get_num_tokens_from_messages([HumanMessage("hello")])
    history: list[BaseMessage] = [HumanMessage(f"message number {i} " * 5) for i in range(6)]
    budget = llm.get_num_tokens_from_messages(history[-2:])
    trimmed = trim_messages(history, max_tokens=budget, token_counter=llm, strategy="last")
    assert trimmed == history[-2:]


def test_servers_without_a_tokenizer_say_so(glm_server: GLMServer) -> None:
    llm = ChatGLM(base_url=glm_server.url + "/nowhere", api_key="k", max_retries=0)
    with pytest.raises(GLMNotFoundError, match="API does not exist"):
        llm.get_num_tokens("hi")
