"""Checks structured-output results against the JSON schema that was sent to GLM.

A result described by a pydantic model is validated by pydantic (the parser builds the
model). Every other result (from a TypedDict or a JSON-schema dict) is checked with
`jsonschema` against exactly the JSON schema the model was given, so every keyword of
that schema is enforced: `minimum`, `maxLength`, `minItems`, `pattern`,
`additionalProperties`, `$ref`, `if`/`then`, ... (Draft 2020-12 unless the schema's
`$schema` names an earlier draft), and `format` for the formats `jsonschema` checks.

Why `jsonschema`, and why as an optional extra:

- it is the reference JSON Schema implementation for Python and follows the
  specification, where a hand-written checker covers a subset and lets the rest pass;
- pydantic's `TypeAdapter` would check a TypedDict against the TypedDict, not against
  the schema GLM was shown: LangChain derives that schema with its own conventions
  (`Annotated[int, 5, "doc"]` makes a key optional), so the two can disagree;
- the package's runtime dependencies stay langchain-core, httpx, httpx-sse and
  pydantic. `pip install "langchain-glm[jsonschema]"` adds it. Without it, asking for a
  TypedDict or dict schema fails at once, in `with_structured_output`, with an
  `ImportError` that says what to install: no result is ever returned unchecked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INSTALL_HINT = (
    "Checking structured output against a TypedDict or JSON schema needs the jsonschema "
    'package: pip install "langchain-glm[jsonschema]". (A pydantic model as schema is '
    "checked by pydantic and needs nothing more.)"
)
"""The message of the `ImportError` raised when `jsonschema` is not installed."""


def require_checkable(schema: Mapping[str, Any]) -> None:
    """Fail early when results could not be checked against `schema`.

    Args:
        schema: The JSON schema results must conform to.

    Raises:
        ImportError: `jsonschema` is not installed.
        ValueError: `schema` is not a valid JSON schema.
    """
    cls = _validator_class(schema)
    from jsonschema.exceptions import SchemaError

    try:
        cls.check_schema(schema)
    except SchemaError as err:
        msg = f"The structured-output schema is not a valid JSON schema: {err.message}"
        raise ValueError(msg) from err


def schema_errors(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """Every way in which `value` violates `schema`.

    Args:
        value: The parsed result.
        schema: The JSON schema.

    Returns:
        One line per violation, `"<path>: <reason>"` (path `$` is the value itself,
        `$.items[2]` an element within it); empty when the value conforms.

    Raises:
        ImportError: `jsonschema` is not installed.
    """
    cls = _validator_class(schema)
    from referencing.exceptions import Unresolvable

    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    try:
        return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(value)]
    except Unresolvable as err:  # a $ref that points nowhere checks nothing: say so
        return [f"$: the schema reference {err.ref!r} cannot be resolved"]


def _validator_class(schema: Mapping[str, Any]) -> Any:
    """The validator class for the schema's draft (Draft 2020-12 by default)."""
    try:
        from jsonschema.validators import validator_for
    except ImportError as err:
        raise ImportError(INSTALL_HINT) from err
    return validator_for(schema)
