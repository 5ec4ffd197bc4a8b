"""with_structured_output over real HTTP (httpx.MockTransport): every method, schema and mode."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
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

from langchain_glm import ChatGLM, GLMCompatibilityWarning
from langchain_glm._schema import INSTALL_HINT
from langchain_glm._structured import StructuredOutputParser
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

# method="json_schema" warns that GLM serves it as json_mode, and bind_tools that a forcing
# tool_choice is sent as "auto" (both asserted where they matter).
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
    chain = fake.model(tool_stream=True).with_structured_output(schema)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a call never warns: bind_tools decides at bind time
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
    with pytest.raises(OutputParserException, match=r"\$\.setup: 42 is not of type 'string'"):
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
    shown = json.loads(system["content"][system["content"].index("{") :])  # the schema, last
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
    with pytest.raises(OutputParserException, match=r"\$: 'setup' is a required property"):
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


# --------------------------------------------------------------------------- one path, full checks


class RecordingGLM(ChatGLM):
    """ChatGLM that records the arguments of every public bind_tools call."""

    bind_tools_calls: list[dict[str, Any]] = Field(default_factory=list, exclude=True)

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        self.bind_tools_calls.append({"tools": tools, **kwargs})
        return super().bind_tools(tools, **kwargs)


def test_function_calling_goes_through_bind_tools() -> None:
    fake = FakeGLM(tool_reply("Joke"))
    llm = RecordingGLM(
        model="glm-4.6",
        api_key="test-key",
        http_client=fake.model().http_client,
    )
    assert llm.with_structured_output(Joke).invoke("joke") == Joke(**ARGS)
    [recorded] = llm.bind_tools_calls
    assert recorded["tool_choice"] == "Joke"
    assert [t["function"]["name"] for t in recorded["tools"]] == ["Joke"]
    assert recorded["ls_structured_output_format"]["kwargs"]["method"] == "function_calling"


BOUNDED: dict[str, Any] = {
    "title": "order",
    "description": "An order.",
    "type": "object",
    "properties": {
        "qty": {"type": "integer", "minimum": 1},
        "code": {"type": "string", "maxLength": 4},
        "items": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["qty", "code", "items"],
    "additionalProperties": False,
}
GOOD_ORDER = {"qty": 2, "code": "AB12", "items": ["tea"]}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"qty": 0}, r"\$\.qty: 0 is less than the minimum of 1"),
        ({"code": "ABCDE"}, r"\$\.code: 'ABCDE' is too long"),
        ({"items": []}, r"\$\.items: \[\] should be non-empty"),
        ({"note": "extra"}, r"Additional properties are not allowed \('note' was unexpected\)"),
    ],
    ids=["minimum", "maxLength", "minItems", "additionalProperties"],
)
@pytest.mark.parametrize("method", ["function_calling", "json_mode", "json_schema"])
@pytest.mark.parametrize("mode", ["invoke", "astream"])
async def test_every_schema_keyword_is_enforced(
    bad: dict[str, Any], reason: str, method: str, mode: str
) -> None:
    args = {**GOOD_ORDER, **bad}
    reply = (
        tool_reply("order", args) if method == "function_calling" else text_reply(json.dumps(args))
    )
    fake = FakeGLM(reply)
    chain = fake.model().with_structured_output(BOUNDED, method=method)  # type: ignore[arg-type]
    with pytest.raises(OutputParserException, match=reason):
        await run(chain, "order tea", mode)


@pytest.mark.parametrize("method", ["function_calling", "json_mode"])
def test_a_conforming_bounded_result_passes(method: str) -> None:
    args = GOOD_ORDER
    reply = (
        tool_reply("order", args) if method == "function_calling" else text_reply(json.dumps(args))
    )
    chain = FakeGLM(reply).model().with_structured_output(BOUNDED, method=method)  # type: ignore[arg-type]
    assert chain.invoke("order tea") == GOOD_ORDER


class Order(BaseModel):
    """An order."""

    qty: int = Field(ge=1)
    code: str = Field(max_length=4)


@pytest.mark.parametrize("method", ["function_calling", "json_mode"])
def test_pydantic_constraints_are_enforced_by_pydantic(method: str) -> None:
    args = {"qty": 0, "code": "AB"}
    reply = (
        tool_reply("Order", args) if method == "function_calling" else text_reply(json.dumps(args))
    )
    chain = FakeGLM(reply).model().with_structured_output(Order, method=method)  # type: ignore[arg-type]
    with pytest.raises(OutputParserException, match="greater than or equal to 1"):
        chain.invoke("order")


def test_an_invalid_schema_fails_before_anything_is_sent() -> None:
    fake = FakeGLM()
    broken = {"title": "x", "description": "x", "type": "objekt", "properties": {}}
    with pytest.raises(ValueError, match="not a valid JSON schema"):
        fake.model().with_structured_output(broken)
    assert fake.sent == []


def test_an_unresolvable_reference_is_an_error_not_a_pass() -> None:
    schema = {
        "title": "x",
        "description": "x",
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/missing"}},
    }
    chain = FakeGLM(tool_reply("x", {"a": 1})).model().with_structured_output(schema)
    with pytest.raises(OutputParserException, match="cannot be resolved"):
        chain.invoke("x")


_WITHOUT_JSONSCHEMA = """
import sys
sys.modules["jsonschema"] = None  # as if the optional extra were not installed
from pydantic import BaseModel
from typing_extensions import TypedDict
from langchain_glm import ChatGLM

class Joke(BaseModel):
    setup: str

class JokeDict(TypedDict):
    setup: str

llm = ChatGLM(model="glm-4.6", api_key="k")
llm.with_structured_output(Joke)  # pydantic checks pydantic models: no extra needed
llm.with_structured_output(None, method="json_mode")  # no schema, nothing to check
for schema in (JokeDict, {"title": "j", "type": "object", "properties": {}}):
    try:
        llm.with_structured_output(schema)
    except ImportError as err:
        print(err)
"""


def test_without_jsonschema_dict_and_typeddict_schemas_fail_clearly() -> None:
    out = subprocess.run(  # noqa: S603 - our own probe, run by this interpreter
        [sys.executable, "-W", "ignore", "-c", _WITHOUT_JSONSCHEMA],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == [INSTALL_HINT, INSTALL_HINT]
    assert 'pip install "langchain-glm[jsonschema]"' in INSTALL_HINT
