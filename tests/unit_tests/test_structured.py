"""with_structured_output over real HTTP (httpx.MockTransport): every method, schema and mode."""

from __future__ import annotations

import itertools
import json
import warnings
from typing import Annotated, Any

import pytest
from langchain_core.exceptions import ModelRefusalError, OutputParserException
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel, Field
from pydantic.v1 import BaseModel as BaseModelV1
from typing_extensions import TypedDict

from langchain_glm import GLMCompatibilityWarning
from langchain_glm._schema import schema_errors
from langchain_glm._structured import SCHEMA_MARKER, StructuredOutputParser
from tests.unit_tests.test_tools import MODES, FakeGLM, call, completion, run


class Joke(BaseModel):
    """A joke."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


class JokeV1(BaseModelV1):
    """A joke (pydantic v1)."""

    setup: str
    punchline: str


class JokeDict(TypedDict):
    """A joke."""

    setup: Annotated[str, ..., "question to set up a joke"]
    punchline: Annotated[str | None, None, "answer to resolve the joke"]


JOKE_SCHEMA: dict[str, Any] = {
    "title": "joke",
    "description": "A joke.",
    "type": "object",
    "properties": {"setup": {"type": "string"}, "punchline": {"type": "string"}},
    "required": ["setup", "punchline"],
}
ARGS = {
    "setup": "Why did the cat sit on the computer?",
    "punchline": "To keep an eye on the mouse.",
}
SCHEMAS: list[Any] = [Joke, JokeV1, JokeDict, JOKE_SCHEMA]
TOOL_NAMES = {Joke: "Joke", JokeV1: "JokeV1", JokeDict: "JokeDict"}

# method="json_schema" warns that GLM serves it as json_mode (asserted where it matters).
pytestmark = pytest.mark.filterwarnings("ignore::langchain_glm.GLMCompatibilityWarning")


def tool_reply(name: str, args: Any = ARGS, **message: Any) -> dict[str, Any]:
    """A reply that calls the structured-output tool."""
    return completion(
        {"role": "assistant", "tool_calls": [call(name, args)], **message}, "tool_calls"
    )


def text_reply(text: str, finish_reason: str = "stop", **message: Any) -> dict[str, Any]:
    """A plain text reply."""
    return completion({"role": "assistant", "content": text, **message}, finish_reason)


def expected(schema: Any) -> Any:
    """The parsed value for ARGS under each schema kind."""
    return schema(**ARGS) if isinstance(schema, type) and schema is not JokeDict else ARGS


# --------------------------------------------------------------------------- function calling


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("mode", MODES)
async def test_function_calling_each_schema(schema: Any, mode: str) -> None:
    name = TOOL_NAMES[schema] if isinstance(schema, type) else "joke"
    fake = FakeGLM(tool_reply(name), split=7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # function calling is GLM's normal path: no warning
        chain = fake.model(tool_stream=True).with_structured_output(schema)
    outputs = await run(chain, "Tell me a joke about cats.", mode)
    assert outputs[-1] == expected(schema)
    sent = fake.sent[0]
    assert sent["tool_choice"] == "auto"
    assert [t["function"]["name"] for t in sent["tools"]] == [name]
    assert sent["messages"][0] == {
        "role": "system",
        "content": f"You must respond by calling the tool `{name}`; do not answer in plain text.",
    }


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_function_calling_streams_partial_objects(mode: str) -> None:
    fake = FakeGLM(tool_reply("joke"), split=5)
    chain = fake.model(tool_stream=True).with_structured_output(JOKE_SCHEMA)
    outputs = await run(chain, "joke", mode)
    assert len(outputs) > 5
    assert outputs[-1] == ARGS
    assert any(set(o) == {"setup"} for o in outputs)  # partial dicts before the end
    for before, after in itertools.pairwise(outputs):
        assert len(json.dumps(after)) >= len(json.dumps(before))


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_pydantic_stream_yields_only_valid_objects(mode: str) -> None:
    fake = FakeGLM(tool_reply("Joke"), split=5)
    outputs = await run(fake.model(tool_stream=True).with_structured_output(Joke), "j", mode)
    assert all(isinstance(o, Joke) for o in outputs)
    assert outputs[-1] == Joke(**ARGS)


def test_typeddict_tool_has_real_description() -> None:
    class Plain(TypedDict):
        value: int

    fake = FakeGLM(tool_reply("Plain", {"value": 3}))
    assert fake.model().with_structured_output(Plain).invoke("x") == {"value": 3}
    assert fake.sent[0]["tools"][0]["function"]["description"] == "Respond with a Plain object."


@pytest.mark.parametrize("mode", MODES)
async def test_function_calling_with_thinking(mode: str) -> None:
    fake = FakeGLM(tool_reply("Joke", reasoning_content="The user wants a joke."))
    outputs = await run(fake.model(thinking=True).with_structured_output(Joke), "joke", mode)
    assert outputs[-1] == Joke(**ARGS)
    assert fake.sent[0]["thinking"] == {"type": "enabled"}


@pytest.mark.parametrize("mode", MODES)
async def test_no_tool_call_is_a_clear_error(mode: str) -> None:
    fake = FakeGLM(text_reply("Here is a joke without the tool."))
    chain = fake.model().with_structured_output(Joke)
    with pytest.raises(OutputParserException, match="did not call the structured-output tool"):
        await run(chain, "joke", mode)


@pytest.mark.parametrize("mode", MODES)
async def test_broken_arguments_are_a_clear_error(mode: str) -> None:
    fake = FakeGLM(tool_reply("Joke", '{"setup": "Why?", "punch'))
    with pytest.raises(OutputParserException, match="not valid JSON"):
        await run(fake.model().with_structured_output(Joke), "joke", mode)


@pytest.mark.parametrize("mode", MODES)
async def test_schema_mismatch_is_a_clear_error(mode: str) -> None:
    fake = FakeGLM(tool_reply("joke", {"setup": 42}))
    with pytest.raises(OutputParserException, match=r"\$\.setup must be of type string"):
        await run(fake.model().with_structured_output(JOKE_SCHEMA), "joke", mode)


@pytest.mark.parametrize("mode", MODES)
async def test_cut_off_reply_says_so(mode: str) -> None:
    fake = FakeGLM(text_reply('{"setup": "Why', "length"))
    chain = fake.model().with_structured_output(Joke, method="json_mode")
    with pytest.raises(OutputParserException, match="cut off by max_tokens"):
        await run(chain, "joke", mode)


# --------------------------------------------------------------------------- json mode / schema


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["json_mode", "json_schema"])
async def test_json_methods_each_schema(schema: Any, mode: str, method: str) -> None:
    fake = FakeGLM(text_reply("```json\n" + json.dumps(ARGS) + "\n```"))
    chain = fake.model().with_structured_output(schema, method=method)  # type: ignore[arg-type]
    outputs = await run(chain, "Tell me a joke.", mode)
    assert outputs[-1] == expected(schema)
    sent = fake.sent[0]
    assert sent["response_format"] == {"type": "json_object"}
    assert "tools" not in sent
    system = sent["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("Respond only with a single JSON object.")
    shown = json.loads(system["content"].split(SCHEMA_MARKER, 1)[1])
    assert set(shown["properties"]) == {"setup", "punchline"}
    assert sent["messages"][1] == {"role": "user", "content": "Tell me a joke."}


def test_json_schema_warns_about_degrade() -> None:
    fake = FakeGLM()
    with pytest.warns(GLMCompatibilityWarning, match="no native JSON-schema mode"):
        fake.model().with_structured_output(Joke, method="json_schema")


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_json_mode_streams_partial_dicts(mode: str) -> None:
    fake = FakeGLM(text_reply(json.dumps(ARGS)), split=6)
    chain = fake.model().with_structured_output(JokeDict, method="json_mode")
    outputs = await run(chain, "j", mode)
    assert len(outputs) > 3
    assert outputs[-1] == ARGS
    assert any(set(o) == {"setup"} for o in outputs)


def test_json_mode_without_schema_and_with_own_system_message() -> None:
    fake = FakeGLM(text_reply('{"answer": 42}'))
    prompt = ChatPromptTemplate.from_messages([("system", "You are terse."), ("human", "{q}")])
    chain = prompt | fake.model().with_structured_output(None, method="json_mode")
    assert chain.invoke({"q": "meaning of life?"}) == {"answer": 42}
    messages = fake.sent[0]["messages"]
    assert messages[0] == {
        "role": "system",
        "content": "You are terse.\n\nRespond only with a single JSON object.",
    }
    assert len(messages) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_json_mode_missing_required_key(mode: str) -> None:
    fake = FakeGLM(text_reply('{"punchline": "no setup"}'))
    chain = fake.model().with_structured_output(JokeDict, method="json_schema")
    with pytest.raises(OutputParserException, match=r"\$\.setup is required"):
        await run(chain, "j", mode)


@pytest.mark.parametrize("mode", MODES)
async def test_json_mode_not_json(mode: str) -> None:
    fake = FakeGLM(text_reply("Sorry, no JSON today."))
    with pytest.raises(OutputParserException, match="could not be parsed"):
        await run(fake.model().with_structured_output(JOKE_SCHEMA, method="json_mode"), "j", mode)


# --------------------------------------------------------------------------- refusals, include_raw


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["function_calling", "json_mode"])
async def test_sensitive_reply_is_a_refusal(mode: str, method: str) -> None:
    fake = FakeGLM(text_reply('{"setup": "', "sensitive"))
    chain = fake.model().with_structured_output(Joke, method=method)  # type: ignore[arg-type]
    with pytest.raises(ModelRefusalError, match="content safety") as info:
        await run(chain, "j", mode)
    raw = info.value.raw_message
    assert isinstance(raw, AIMessage)
    assert raw.response_metadata["finish_reason"] == "sensitive"


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_include_raw(mode: str) -> None:
    fake = FakeGLM(tool_reply("Joke"), text_reply("nope", "sensitive"), text_reply("no tool"))
    chain = fake.model().with_structured_output(Joke, include_raw=True, strict=True)
    [ok] = await run(chain, "j", mode)
    assert ok["parsed"] == Joke(**ARGS)
    assert ok["parsing_error"] is None
    assert ok["raw"].tool_calls[0]["name"] == "Joke"
    [refused] = await run(chain, "j", mode)
    assert isinstance(refused["parsing_error"], ModelRefusalError)
    assert refused["parsed"] is None
    [failed] = await run(chain, "j", mode)
    assert isinstance(failed["parsing_error"], OutputParserException)
    assert failed["raw"].content == "no tool"


@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_include_raw_streams(mode: str) -> None:
    fake = FakeGLM(tool_reply("Joke"))
    outputs = await run(fake.model().with_structured_output(Joke, include_raw=True), "j", mode)
    parsed = [o["parsed"] for o in outputs if "parsed" in o]
    assert parsed == [Joke(**ARGS)]
    raw = [o["raw"] for o in outputs if "raw" in o]
    assert sum(raw[1:], raw[0]).tool_calls[0]["args"] == ARGS


def test_bad_arguments_to_with_structured_output() -> None:
    model = FakeGLM().model()
    with pytest.raises(ValueError, match="Unknown method"):
        model.with_structured_output(Joke, method="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a schema"):
        model.with_structured_output(None)


def test_tracing_records_schema_and_method() -> None:
    fake = FakeGLM(tool_reply("Joke"))
    chain = fake.model().with_structured_output(Joke, strict=False)
    bound = chain.first  # type: ignore[attr-defined]
    assert bound.kwargs["ls_structured_output_format"] == {
        "kwargs": {"method": "function_calling", "strict": False},
        "schema": convert_to_json_schema(Joke),
    }


# --------------------------------------------------------------------------- parser and checker


def test_parser_on_plain_text_and_empty_stream() -> None:
    from langchain_core.output_parsers import JsonOutputParser

    parser = StructuredOutputParser(inner=JsonOutputParser(), json_schema=JOKE_SCHEMA)
    assert parser.parse(json.dumps(ARGS)) == ARGS
    assert list(parser.transform(iter(['{"setup": "a", ', '"punchline": "b"}'])))[-1] == {
        "setup": "a",
        "punchline": "b",
    }
    with pytest.raises(OutputParserException, match="no output"):
        list(parser.transform(iter([])))
    assert parser._type == "glm_structured_output"


SCHEMA = {
    "type": "object",
    "$defs": {"Color": {"enum": ["red", "blue"]}},
    "properties": {
        "n": {"type": "integer"},
        "x": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "color": {"$ref": "#/$defs/Color"},
        "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "kind": {"const": "joke"},
        "flag": {"type": ["boolean", "null"]},
        "both": {"allOf": [{"type": "string"}]},
    },
    "required": ["n"],
}


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ({"n": 1, "x": 2.5, "tags": ["a"], "color": "red", "maybe": None, "kind": "joke"}, []),
        ({"n": 3.0, "flag": None, "both": "s"}, []),
        ({}, ["$.n is required"]),
        ({"n": True}, ["$.n must be of type integer"]),
        ({"n": 1, "x": "2"}, ["$.x must be of type number"]),
        ({"n": 1, "tags": ["a", 2]}, ["$.tags[1] must be of type string"]),
        ({"n": 1, "color": "green"}, ["$.color must be one of ['red', 'blue']"]),
        ({"n": 1, "maybe": 5}, ["$.maybe matches none of the allowed schemas"]),
        ({"n": 1, "kind": "poem"}, ["$.kind must be 'joke'"]),
        ({"n": 1, "flag": "yes"}, ["$.flag must be of type boolean or null"]),
        ({"n": 1, "both": 1}, ["$.both must be of type string"]),
        ([], ["$ must be of type object"]),
    ],
)
def test_schema_errors(value: Any, errors: list[str]) -> None:
    assert schema_errors(value, SCHEMA) == errors


def test_schema_errors_unknown_ref_checks_nothing() -> None:
    assert schema_errors({"a": 1}, {"properties": {"a": {"$ref": "http://x/y"}}}) == []
    assert schema_errors({"a": 1}, {"properties": {"a": {"$ref": "#/$defs/missing"}}}) == []
