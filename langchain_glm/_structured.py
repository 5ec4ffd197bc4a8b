"""`with_structured_output` for GLM: tool calling, JSON mode, and JSON schema served as JSON mode.

GLM accepts only `tool_choice="auto"` and has no native JSON-schema mode
(glm-api §3.1), so:

- `function_calling` binds the schema as a tool and steers the model to call it;
- `json_mode` sends `response_format={"type": "json_object"}` and describes the
  schema to the model in a system instruction;
- `json_schema` is served as `json_mode`, with a warning, and the result is
  validated against the schema.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.exceptions import ModelRefusalError, OutputParserException
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from langchain_glm._convert import GLMCompatibilityWarning

if TYPE_CHECKING:
    from langchain_core.language_models import LanguageModelInput

    from langchain_glm.chat_models import ChatGLM

Method = Literal["function_calling", "json_mode", "json_schema"]


def structured_runnable(
    llm: ChatGLM,
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
        schema: Pydantic class, TypedDict or JSON schema; None only with json_mode.
        method: How to obtain structured output (see module docstring).
        include_raw: Return raw message, parsed value and parsing error.
        strict: Accepted and ignored (GLM has no strict mode).
        **kwargs: Bound to the model call.

    Returns:
        The runnable.

    Raises:
        ValueError: Unknown method, or no schema where one is needed.
    """
    del strict  # GLM has no strict mode; accepted for API compatibility.
    if method not in ("function_calling", "json_mode", "json_schema"):
        msg = f"Unknown method {method!r}: use function_calling, json_mode or json_schema."
        raise ValueError(msg)
    if schema is None and method != "json_mode":
        msg = f"method={method!r} needs a schema."
        raise ValueError(msg)
    if method == "json_schema":
        warnings.warn(
            "GLM has no native JSON-schema mode: using json_mode and validating the result.",
            GLMCompatibilityWarning,
            stacklevel=3,
        )
        method = "json_mode"
    ls_format = {"kwargs": {"method": method}, "schema": _ls_schema(schema)}
    if method == "function_calling":
        model, parser = _function_calling(llm, schema, ls_format, **kwargs)
    else:
        model, parser = _json_mode(llm, schema, ls_format, **kwargs)
    checked = RunnableLambda(_refuse_if_sensitive)
    if not include_raw:
        return model | checked | parser
    parse = RunnablePassthrough.assign(
        parsed=lambda x: parser.invoke(x["raw"]), parsing_error=lambda _: None
    )
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    with_fallback = parse.with_fallbacks([fallback], exception_key="parsing_error")
    return RunnableMap(raw=model | checked) | with_fallback


def _ls_schema(schema: dict[str, Any] | type | None) -> dict[str, Any] | None:
    """Schema recorded for tracing (`ls_structured_output_format`)."""
    return convert_to_json_schema(schema) if schema is not None else None


def _function_calling(
    llm: ChatGLM, schema: dict[str, Any] | type | None, ls_format: dict[str, Any], **kwargs: Any
) -> tuple[Runnable[Any, Any], Runnable[Any, Any]]:
    """Bind the schema as the one tool and parse its first call."""
    tool = convert_to_openai_tool(schema)  # type: ignore[arg-type]  # None was rejected above
    name = tool["function"]["name"]
    model = llm.bind_tools(
        [tool], tool_choice=name, ls_structured_output_format=ls_format, **kwargs
    )
    parser: Runnable[Any, Any]
    if isinstance(schema, type) and is_basemodel_subclass(schema):
        parser = PydanticToolsParser(tools=[schema], first_tool_only=True)
    else:
        parser = JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
    return model, parser | RunnableLambda(_require_value)


def _json_mode(
    llm: ChatGLM, schema: dict[str, Any] | type | None, ls_format: dict[str, Any], **kwargs: Any
) -> tuple[Runnable[Any, Any], Runnable[Any, Any]]:
    """JSON object mode, with the schema described to the model in the prompt."""
    bound = llm.bind(
        response_format={"type": "json_object"}, ls_structured_output_format=ls_format, **kwargs
    )
    model = RunnableLambda(_with_instruction(schema)) | bound
    parser: Runnable[Any, Any]
    if isinstance(schema, type) and is_basemodel_subclass(schema):
        parser = PydanticOutputParser(pydantic_object=schema)
    else:
        parser = JsonOutputParser()
    return model, parser


def _with_instruction(schema: dict[str, Any] | type | None) -> Any:
    """A function that adds the JSON instruction as a system message."""
    rule = "Respond only with a single JSON object."
    if schema is not None:
        rule += " It must conform to this JSON schema:\n" + json.dumps(
            convert_to_json_schema(schema), ensure_ascii=False
        )

    def add(value: LanguageModelInput) -> list[BaseMessage]:
        from langchain_core.language_models.chat_models import BaseChatModel

        messages = (
            value.to_messages()
            if isinstance(value, PromptValue)
            else BaseChatModel._convert_input(None, value).to_messages()  # type: ignore[arg-type]
        )
        return [SystemMessage(rule), *messages]

    return add


def _refuse_if_sensitive(message: AIMessage) -> AIMessage:
    """GLM blocks unsafe output with `finish_reason="sensitive"`: a refusal, not a parse error."""
    meta: Mapping[str, Any] = message.response_metadata
    if meta.get("finish_reason") == "sensitive":
        msg = "GLM withheld the output for content safety (finish_reason='sensitive')."
        raise ModelRefusalError(msg, raw_message=message)
    return message


def _require_value(value: Any) -> Any:
    """Tool parsers return None when the model answered without calling the tool."""
    if value is None:
        msg = "The model did not call the structured-output tool."
        raise OutputParserException(msg)
    return value
