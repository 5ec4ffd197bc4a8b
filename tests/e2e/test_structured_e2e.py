"""with_structured_output end to end against the GLM test server: each method, invoke and stream."""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx
import pytest
from langchain.agents import create_agent
from langchain_core.exceptions import ModelRefusalError
from langchain_core.messages import HumanMessage
from langchain_core.tools import StructuredTool, tool
from pydantic import BaseModel, Field

from langchain_glm import ChatGLM, GLMCompatibilityWarning
from langchain_glm.testing import GLMServer
from tests.unit_tests.test_tools import MODES, run


class Movie(BaseModel):
    """A movie."""

    title: str = Field(description="the title")
    year: int = Field(description="release year")
    genres: list[str] = Field(description="genres")


MOVIE = {"title": "千と千尋の神隠し", "year": 2001, "genres": ["animation", "fantasy"]}
METHODS = ["function_calling", "json_mode", "json_schema"]


def queue(server: GLMServer, method: str, **extra: Any) -> None:
    """Queue GLM's answer in the shape the method asks for (with reasoning: thinking on)."""
    if method == "function_calling":
        server.reply(
            reasoning="Fill the Movie tool.",
            tool_calls=[{"name": "Movie", "arguments": MOVIE}],
            chunk_size=5,
            **extra,
        )
    else:
        text = json.dumps(MOVIE, ensure_ascii=False)
        server.reply(text=text, reasoning="Write the JSON.", chunk_size=5, **extra)


FORCED_CHOICE = "only tool_choice='auto'"
"""Start of bind_tools' warning that a forcing tool_choice is sent as "auto"."""


def structured(llm: ChatGLM, schema: Any, method: str, **kwargs: Any) -> Any:
    """Build the chain on a fresh model, expecting exactly the warning its method gives.

    json_schema warns that it is served as JSON mode. function_calling forces the schema's
    tool through `bind_tools`, the library's own choice, and json_mode: both are silent.
    """
    if method != "json_schema":
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return llm.with_structured_output(schema, method=method, **kwargs)  # type: ignore[arg-type]
    with pytest.warns(GLMCompatibilityWarning, match="no native JSON-schema mode") as record:
        chain = llm.with_structured_output(schema, method=method, **kwargs)  # type: ignore[arg-type]
    assert len(record) == 1
    return chain


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("schema", [Movie, Movie.model_json_schema()], ids=["pydantic", "dict"])
async def test_each_method(glm_server: GLMServer, method: str, mode: str, schema: Any) -> None:
    queue(glm_server, method)
    async with httpx.AsyncClient() as client:
        llm = ChatGLM(
            base_url=glm_server.base_url,
            api_key="k",
            thinking=True,
            tool_stream=True,
            http_async_client=client,
        )
        outputs = await run(structured(llm, schema, method), "Describe Spirited Away.", mode)
    final = outputs[-1]
    assert (final.model_dump() if isinstance(final, Movie) else final) == MOVIE
    if "stream" in mode and method == "function_calling" and schema is not Movie:
        assert len(outputs) > 2  # partial dicts while the arguments stream
    sent = glm_server.last_request.json
    assert sent["thinking"] == {"type": "enabled"}
    if method == "function_calling":
        assert sent["tool_choice"] == "auto"
        assert sent["tools"][0]["function"]["name"] == "Movie"
        assert "`Movie`" in sent["messages"][0]["content"]
    else:
        assert sent["response_format"] == {"type": "json_object"}
        assert '"year"' in sent["messages"][0]["content"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("streaming", [False, True])
def test_sensitive_is_a_refusal(glm_server: GLMServer, method: str, streaming: bool) -> None:
    queue(glm_server, method, finish_reason="sensitive")
    llm = ChatGLM(base_url=glm_server.base_url, api_key="k")
    chain = structured(llm, Movie, method)
    run = (lambda: list(chain.stream("x"))) if streaming else (lambda: chain.invoke("x"))
    with pytest.raises(ModelRefusalError, match="content safety"):
        run()


def test_include_raw_keeps_reasoning(glm_server: GLMServer) -> None:
    queue(glm_server, "function_calling")
    llm = ChatGLM(base_url=glm_server.base_url, api_key="k")
    result = structured(llm, Movie, "function_calling", include_raw=True).invoke("x")
    assert result["parsed"] == Movie(**MOVIE)
    assert result["parsing_error"] is None
    assert result["raw"].additional_kwargs["reasoning_content"] == "Fill the Movie tool."


def test_structured_calls_never_warn(glm_server: GLMServer) -> None:
    llm = ChatGLM(base_url=glm_server.base_url, api_key="k")
    chain = structured(llm, Movie, "function_calling")
    for _ in range(3):
        queue(glm_server, "function_calling")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # bind_tools decided at bind time; calls are silent
        assert [chain.invoke("x") for _ in range(3)] == [Movie(**MOVIE)] * 3


def _forced_choice_warnings(record: list[warnings.WarningMessage]) -> int:
    return sum(
        issubclass(w.category, GLMCompatibilityWarning) and FORCED_CHOICE in str(w.message)
        for w in record
    )


def test_structured_output_never_warns_about_the_tool_it_forces(glm_server: GLMServer) -> None:
    llm = ChatGLM(base_url=glm_server.base_url, api_key="k")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        llm.with_structured_output(Movie)
        llm.with_structured_output(Movie.model_json_schema())
    assert _forced_choice_warnings(record) == 0
    with pytest.warns(GLMCompatibilityWarning, match=FORCED_CHOICE):  # the caller's own choice
        llm.bind_tools([Movie], tool_choice="Movie")


@tool
def lookup_year(title: str) -> int:
    """Look up a movie's release year."""
    return 2001


def test_create_agent_with_response_format_does_not_warn(glm_server: GLMServer) -> None:
    """create_agent forces its answer tool with tool_choice="any": its choice, not the user's."""
    llm = ChatGLM(base_url=glm_server.base_url, api_key="k")
    agent = create_agent(llm, tools=[lookup_year], response_format=Movie)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            glm_server.reply(tool_calls=[{"name": "Movie", "arguments": MOVIE}])
            result = agent.invoke({"messages": [HumanMessage("Describe Spirited Away.")]})
            assert result["structured_response"] == Movie(**MOVIE)
    sent = glm_server.last_request.json
    assert sent["tool_choice"] == "auto"  # GLM is steered by instruction, as before
    assert [t["function"]["name"] for t in sent["tools"]] == ["lookup_year", "Movie"]
    assert sent["messages"][0]["role"] == "system"


ANSWER = StructuredTool(name="Movie", description="A movie.", args_schema=Movie.model_json_schema())
"""An answer tool as create_agent builds it: a schema, no function to run."""


@pytest.mark.parametrize(
    ("tools", "choice", "warns"),
    [
        ([lookup_year, ANSWER], "any", False),  # create_agent's binding
        ([ANSWER], "Movie", False),
        ([lookup_year, ANSWER], "lookup_year", True),  # a real action, forced by the caller
        ([lookup_year], "any", True),
        ([lookup_year, Movie], "any", True),  # a pydantic class is the caller's own tool
    ],
    ids=["agent-answer", "answer-by-name", "action-by-name", "action-any", "pydantic-any"],
)
def test_only_forcing_a_function_less_tool_is_silent(
    tools: list[Any], choice: str, warns: bool
) -> None:
    llm = ChatGLM(api_key="k")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        llm.bind_tools(tools, tool_choice=choice)
    assert _forced_choice_warnings(record) == int(warns)
