"""`with_structured_output` for GLM: tool calling, JSON mode, and JSON schema served as JSON mode.

GLM accepts only `tool_choice="auto"`
(https://docs.z.ai/guides/capabilities/function-calling) and offers JSON mode
(`response_format={"type": "json_object"}`) but no JSON-schema mode
(https://docs.z.ai/guides/capabilities/struct-output), so:

- `function_calling` binds the schema as the one tool through the model's own
  `bind_tools`, with `tool_choice` naming it; how GLM is steered to call it is decided
  there, in one place (without a warning: forcing that tool is this module's choice);
- `json_mode` sends `response_format={"type": "json_object"}` and describes the
  schema to the model in a system instruction;
- `json_schema` is served as `json_mode`, with a `GLMCompatibilityWarning`, and the
  result is validated against the schema.

Every method parses with `StructuredOutputParser`, which streams partial objects
(partial dicts; pydantic objects once they validate), and on the finished reply
raises `ModelRefusalError` for `finish_reason="sensitive"` and
`OutputParserException` for a reply that does not parse or does not match the
schema. Pydantic results are validated by pydantic; all others are checked with
`jsonschema` against the JSON schema sent to the model (see `_schema`).

This module knows only `BaseChatModel`: `chat_models` imports it, never the reverse.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Annotated, Any, Literal

from langchain_core.exceptions import ModelRefusalError, OutputParserException
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.utils import convert_to_messages
from langchain_core.output_parsers import (
    BaseCumulativeTransformOutputParser,
    BaseOutputParser,
    JsonOutputParser,
    PydanticOutputParser,
)
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, Generation
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.tools import StructuredTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ConfigDict, SkipValidation

from langchain_glm._request import GLMCompatibilityWarning
from langchain_glm._schema import require_checkable, schema_errors

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel, LanguageModelInput

Method = Literal["function_calling", "json_mode", "json_schema"]
"""The `method` values `with_structured_output` accepts."""

JSON_INSTRUCTION = "Respond only with a single JSON object."
"""First sentence of the system instruction added in JSON mode."""

_SCHEMA_MARKER = "It must conform to this JSON schema:\n"
"""Text that precedes the schema in the prompt (compact JSON, up to the end of the
instruction). Prompt wording only: nothing outside this module should parse it."""

_METHODS = ("function_calling", "json_mode", "json_schema")


def structured_runnable(
    llm: BaseChatModel,
    schema: dict[str, Any] | type | None,
    *,
    method: Method,
    include_raw: bool,
    strict: bool | None,
    **kwargs: Any,
) -> Runnable[LanguageModelInput, Any]:
    """Build the structured-output chain for `ChatGLM.with_structured_output`.

    Args:
        llm: The model.
        schema: Pydantic class (v2 or v1), TypedDict or JSON schema; None only with json_mode.
        method: How to obtain structured output (see module docstring).
        include_raw: Return `{"raw", "parsed", "parsing_error"}`; errors are then
            reported in `parsing_error` instead of raised.
        strict: Accepted for compatibility and recorded for tracing; GLM has no strict
            mode (results are validated client-side instead).
        **kwargs: Bound to the model call.

    Returns:
        The runnable.

    Raises:
        ValueError: Unknown method, no schema where one is needed, or a schema that is
            not a valid JSON schema.
        ImportError: A TypedDict or dict schema, and `jsonschema` is not installed.
    """
    if method not in _METHODS:
        msg = f"Unknown method {method!r}: use function_calling, json_mode or json_schema."
        raise ValueError(msg)
    if schema is None and method != "json_mode":
        msg = f"method={method!r} needs a schema."
        raise ValueError(msg)
    if method == "json_schema":
        warnings.warn(
            "GLM has no native JSON-schema mode: using json_mode (response_format "
            "json_object, schema given in the prompt) and validating the result.",
            GLMCompatibilityWarning,
            stacklevel=3,
        )
    json_schema = convert_to_json_schema(schema) if schema is not None else None
    if json_schema is not None and not _is_pydantic(schema):
        require_checkable(json_schema)  # before anything is sent, not on the first reply
    ls_format = {"kwargs": {"method": method, "strict": strict}, "schema": json_schema}
    if method == "function_calling":
        model, parser = _function_calling(llm, schema, ls_format, kwargs)
    else:
        model, parser = _json_mode(llm, schema, ls_format, kwargs)
    if not include_raw:
        return model | parser
    parse = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    with_fallback = parse.with_fallbacks([fallback], exception_key="parsing_error")
    return RunnableMap(raw=model) | with_fallback


def forces_an_answer_tool(forced: str | None, tools: Sequence[Any]) -> bool:
    """Whether a forcing `tool_choice` forces an answer schema rather than an action.

    An answer tool is a `StructuredTool` with neither `func` nor `coroutine`: it cannot
    run, its arguments are the reply. `create_agent(model, response_format=Schema)`
    (langchain 1.x, tool strategy) binds its answer so, beside the agent's tools, with
    `tool_choice="any"`
    (https://docs.langchain.com/oss/python/langchain/structured-output). Forcing such a
    tool is structured output, which GLM gets by instruction as `with_structured_output`
    does, so `bind_tools` does not warn about it. The same binding written by hand is
    indistinguishable, by public means, and is treated alike.

    Args:
        forced: What the choice forces (`_request.forced_tool_name`): `"*"`, a name, None.
        tools: The tools as given to `bind_tools`.

    Returns:
        True when some answer tool is among the tools the choice forces.
    """
    answers = {
        t.name
        for t in tools
        if isinstance(t, StructuredTool) and t.func is None and t.coroutine is None
    }
    return bool(answers) and (forced == "*" or forced in answers)


def _is_pydantic(schema: dict[str, Any] | type | None) -> bool:
    """Whether the schema is a pydantic (v2 or v1) model class."""
    return isinstance(schema, type) and is_basemodel_subclass(schema)


def _function_calling(
    llm: BaseChatModel,
    schema: dict[str, Any] | type | None,
    ls_format: dict[str, Any],
    kwargs: Mapping[str, Any],
) -> tuple[Runnable[Any, Any], StructuredOutputParser]:
    """Bind the schema as the one tool, steered by instruction, and parse its call."""
    tool = convert_to_openai_tool(schema)  # type: ignore[arg-type]  # None was rejected above
    name = tool["function"]["name"]
    if tool["function"].get("description") == dict.__doc__:  # TypedDict without a docstring
        tool["function"]["description"] = f"Respond with a {name} object."
    model = llm.bind_tools(
        [tool], tool_choice=name, ls_structured_output_format=ls_format, **kwargs
    )
    inner: BaseOutputParser[Any]
    if _is_pydantic(schema):
        inner = PydanticToolsParser(tools=[schema], first_tool_only=True)
        check = None
    else:
        inner = JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        check = ls_format["schema"]
    return model, StructuredOutputParser(inner=inner, json_schema=check, tool_name=name)


def _json_mode(
    llm: BaseChatModel,
    schema: dict[str, Any] | type | None,
    ls_format: dict[str, Any],
    kwargs: Mapping[str, Any],
) -> tuple[Runnable[Any, Any], StructuredOutputParser]:
    """JSON object mode, with the schema described to the model in the prompt."""
    bound = llm.bind(
        response_format={"type": "json_object"}, ls_structured_output_format=ls_format, **kwargs
    )
    model = RunnableLambda(_with_instruction(ls_format["schema"])) | bound
    inner: BaseOutputParser[Any]
    if _is_pydantic(schema):
        inner = PydanticOutputParser(pydantic_object=schema)
        check = None
    else:
        inner = JsonOutputParser()
        check = ls_format["schema"]
    return model, StructuredOutputParser(inner=inner, json_schema=check)


def json_instruction(json_schema: Mapping[str, Any] | None) -> str:
    """The system instruction used in JSON mode.

    Args:
        json_schema: The JSON schema the object must follow, or None.

    Returns:
        The instruction text; the schema (compact JSON) comes last, after `_SCHEMA_MARKER`.
    """
    if json_schema is None:
        return JSON_INSTRUCTION
    shown = {
        k: v for k, v in json_schema.items() if not (k == "description" and v == dict.__doc__)
    }  # a TypedDict without a docstring gets dict's docstring: noise for the model
    return f"{JSON_INSTRUCTION} {_SCHEMA_MARKER}" + json.dumps(
        shown, ensure_ascii=False, separators=(",", ":")
    )


def _with_instruction(json_schema: Mapping[str, Any] | None) -> Any:
    """A function that adds the JSON instruction to the conversation's system message."""
    rule = json_instruction(json_schema)

    def add(value: LanguageModelInput) -> list[BaseMessage]:
        messages = _as_messages(value)
        first = messages[0] if messages else None
        if isinstance(first, SystemMessage) and isinstance(first.content, str):
            merged = first.model_copy(update={"content": f"{first.content}\n\n{rule}"})
            return [merged, *messages[1:]]
        return [SystemMessage(rule), *messages]

    return add


def _as_messages(value: LanguageModelInput) -> list[BaseMessage]:
    """Normalise any chat-model input (string, prompt value, message list) to messages."""
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, str):
        return [HumanMessage(value)]
    return convert_to_messages(value)


class StructuredOutputParser(BaseCumulativeTransformOutputParser[Any]):
    """Parses a GLM reply into the structured result, streaming partial results.

    Wraps a core parser (`inner`). While streaming it yields the inner parser's
    partial results as they change; on the finished reply it checks for a content
    safety refusal, requires a value, validates it against `json_schema`, and yields
    the final result if it differs from the last partial one.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: Annotated[BaseOutputParser[Any], SkipValidation()]
    """The core parser (JSON, pydantic, or tool-call parser)."""

    json_schema: dict[str, Any] | None = None
    """Schema the final value is checked against (None: no check, e.g. pydantic)."""

    tool_name: str | None = None
    """Name of the structured-output tool, for function calling."""

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        """Parse one (possibly partial) generation.

        Args:
            result: The generation(s); the first is parsed.
            partial: Parse a partial reply (no refusal check, no validation).

        Returns:
            The parsed value (None for a partial reply that does not parse yet).

        Raises:
            ModelRefusalError: GLM withheld the output (`finish_reason="sensitive"`).
            OutputParserException: The final reply does not parse or match the schema.
        """
        message = result[0].message if isinstance(result[0], ChatGeneration) else None
        if partial:
            return self.inner.parse_result(result, partial=True)
        if message is not None:
            _refuse_if_sensitive(message)
        bad_json = _unparsable_arguments(message, self.tool_name)
        if bad_json:
            raise _parse_error(message, f"tool-call arguments are not valid JSON: {bad_json!r}")
        try:
            value = self.inner.parse_result(result)
        except (OutputParserException, ValueError) as err:
            raise _parse_error(message, str(err)) from err
        if value is None or value == []:
            raise _parse_error(message, self._missing())
        if self.json_schema is not None:
            errors = schema_errors(value, self.json_schema)
            if errors:
                raise _parse_error(message, "does not match the schema: " + "; ".join(errors))
        return value

    def parse(self, text: str) -> Any:
        """Parse plain text (JSON mode only).

        Args:
            text: The model's text.

        Returns:
            The parsed value.
        """
        return self.parse_result([Generation(text=text)])

    def _missing(self) -> str:
        """Why there is no value."""
        if self.tool_name is not None:
            return f"the model did not call the structured-output tool {self.tool_name!r}"
        return "the model returned no JSON object"

    def _transform(self, input: Iterator[str | BaseMessage]) -> Iterator[Any]:
        """Yield partial results while streaming, then the checked final result."""
        seen: list[str | BaseMessage] = []
        last = None
        for value in super()._transform(_recording(input, seen)):
            last = value
            yield value
        final = self.parse_result([_finished(seen)])
        if final != last:
            yield final

    async def _atransform(
        self,
        input: AsyncIterator[str | BaseMessage],
    ) -> AsyncIterator[Any]:
        """Async twin of `_transform`."""
        seen: list[str | BaseMessage] = []
        last = None
        async for value in super()._atransform(_arecording(input, seen)):
            last = value
            yield value
        final = self.parse_result([_finished(seen)])
        if final != last:
            yield final

    @property
    def _type(self) -> str:
        """Parser type, for serialization and tracing."""
        return "glm_structured_output"


def _recording(
    chunks: Iterator[str | BaseMessage], seen: list[str | BaseMessage]
) -> Iterator[str | BaseMessage]:
    """Pass chunks through, keeping them for the final parse."""
    for chunk in chunks:
        seen.append(chunk)
        yield chunk


async def _arecording(
    chunks: AsyncIterator[str | BaseMessage], seen: list[str | BaseMessage]
) -> AsyncIterator[str | BaseMessage]:
    """Async twin of `_recording`."""
    async for chunk in chunks:
        seen.append(chunk)
        yield chunk


def _finished(seen: Sequence[str | BaseMessage]) -> Generation:
    """The whole reply from its streamed chunks, as one generation.

    Raises:
        OutputParserException: Nothing was streamed.
    """
    if not seen:
        msg = "The model returned no output to parse."
        raise OutputParserException(msg)
    if all(isinstance(chunk, str) for chunk in seen):
        return Generation(text="".join(str(chunk) for chunk in seen))
    message: Any = seen[0]
    for chunk in seen[1:]:
        message = message + chunk
    return ChatGeneration(message=message)


def _unparsable_arguments(message: BaseMessage | None, tool_name: str | None) -> str | None:
    """Arguments of a streamed call to `tool_name` that are not complete JSON, if any.

    Aggregated stream chunks parse tool arguments leniently (partial JSON), so a
    truncated or broken argument string would otherwise pass as a smaller object.
    """
    if tool_name is None or not isinstance(message, AIMessageChunk):
        return None
    for chunk in message.tool_call_chunks:
        if chunk.get("name") == tool_name and chunk.get("args"):
            try:
                json.loads(chunk["args"] or "")
            except ValueError:
                return chunk["args"]
    return None


def _refuse_if_sensitive(message: BaseMessage) -> None:
    """GLM blocks unsafe output with `finish_reason="sensitive"`: a refusal, not a parse error.

    Raises:
        ModelRefusalError: The reply was withheld for content safety.
    """
    if message.response_metadata.get("finish_reason") == "sensitive":
        msg = (
            "GLM withheld the output for content safety (finish_reason='sensitive'); "
            "the structured output cannot be produced."
        )
        raise ModelRefusalError(msg, raw_message=message)


def _parse_error(message: BaseMessage | None, reason: str) -> OutputParserException:
    """A clear parse error that names the cause and keeps the model's reply."""
    text = ""
    hint = ""
    if isinstance(message, AIMessage):
        text = message.text
        if message.response_metadata.get("finish_reason") == "length":
            hint = " The reply was cut off by max_tokens; raise max_tokens."
        bad = [c.get("error") for c in message.invalid_tool_calls if c.get("error")]
        if bad:
            hint += f" Invalid tool-call arguments: {bad[0]}."
    msg = f"GLM structured output could not be parsed: {reason}.{hint}"
    return OutputParserException(msg, llm_output=text)
