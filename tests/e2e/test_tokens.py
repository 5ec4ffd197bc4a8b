"""Exact token counting through GLM's tokenizer endpoint, against the local server."""

from __future__ import annotations

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately
from pydantic import BaseModel

from langchain_glm import ChatGLM, GLMCompatibilityWarning, GLMNotFoundError
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


def test_repeated_counts_are_answered_from_the_cache(glm_server: GLMServer) -> None:
    llm = ChatGLM(base_url=glm_server.base_url, api_key="k")
    history: list[BaseMessage] = [HumanMessage(f"message number {i} " * 5) for i in range(6)]
    budget = llm.get_num_tokens_from_messages(history[-2:])
    assert llm.get_num_tokens_from_messages(history[-2:]) == budget
    assert len(glm_server.requests) == 1
    first = trim_messages(history, max_tokens=budget, token_counter=llm, strategy="last")
    after_first = len(glm_server.requests)
    second = trim_messages(history, max_tokens=budget, token_counter=llm, strategy="last")
    assert first == second == history[-2:]
    assert after_first > 1  # the first trim asked the tokenizer (4 calls at the time of writing)
    assert len(glm_server.requests) == after_first  # the second asked nothing: all cached


def test_the_cache_is_per_body_not_per_message_count(glm_server: GLMServer) -> None:
    llm = ChatGLM(base_url=glm_server.base_url, api_key="k")
    short = llm.get_num_tokens_from_messages([HumanMessage("hi")])
    longer = llm.get_num_tokens_from_messages([HumanMessage("hi there, how are you today?")])
    with_tool = llm.get_num_tokens_from_messages([HumanMessage("hi")], tools=[Weather])
    assert short < longer
    assert with_tool > short
    assert len(glm_server.requests) == 3


@pytest.mark.parametrize("model", ["glm-5.3", "glm-4.7", "glm-4.5-air", "my-finetune"])
def test_models_without_glm_tokenizer_are_approximated_with_one_warning(
    glm_server: GLMServer, model: str
) -> None:
    llm = ChatGLM(model=model, base_url=glm_server.base_url, api_key="k")
    messages: list[BaseMessage] = [HumanMessage("How many tokens is this sentence?")]
    with pytest.warns(GLMCompatibilityWarning, match="approximated with langchain-core"):
        count = llm.get_num_tokens_from_messages(messages)
    assert count == count_tokens_approximately(messages)
    assert llm.get_num_tokens_from_messages(messages, tools=[Weather]) > count  # no second warning
    assert glm_server.requests == []
