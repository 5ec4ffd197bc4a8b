"""A small JSON-schema checker for structured output (no third-party dependency).

It covers the subset that LangChain-generated schemas use, to validate results that
pydantic does not (TypedDict and JSON-schema outputs, and `json_schema` served as
JSON mode).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def schema_errors(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """Check a value against a JSON schema (the subset LangChain schemas use).

    Supports `type`, `properties`, `required`, `items`, `enum`, `const`, `anyOf`,
    `oneOf`, `allOf` and local `$ref`s (`#/$defs/...`, `#/definitions/...`).

    Args:
        value: The parsed value.
        schema: The JSON schema.

    Returns:
        Human-readable problems; empty when the value conforms.
    """
    errors: list[str] = []
    _check(value, schema, schema, "$", errors)
    return errors


_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


def _check(
    value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: str, errors: list[str]
) -> None:
    """Append the problems of `value` at `path` to `errors`."""
    schema = _resolve(schema, root)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if options and all(_fails(value, o, root, path) for o in options):
            errors.append(f"{path} matches none of the allowed schemas")
            return
    for sub in schema.get("allOf") or []:
        _check(value, sub, root, path, errors)
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path} must be one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path} must be {schema['const']!r}")
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    if kinds and not any(_TYPES.get(k, lambda _: True)(value) for k in kinds):
        errors.append(f"{path} must be of type {' or '.join(kinds)}")
        return
    if isinstance(value, dict):
        _check_object(value, schema, root, path, errors)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            _check(item, schema["items"], root, f"{path}[{i}]", errors)


def _check_object(
    value: dict[str, Any],
    schema: Mapping[str, Any],
    root: Mapping[str, Any],
    path: str,
    errors: list[str],
) -> None:
    """Required keys and property schemas of an object."""
    errors.extend(f"{path}.{k} is required" for k in schema.get("required") or [] if k not in value)
    properties = schema.get("properties") or {}
    for key, item in value.items():
        if key in properties:
            _check(item, properties[key], root, f"{path}.{key}", errors)


def _fails(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: str) -> bool:
    """Whether `value` has problems against one alternative schema."""
    found: list[str] = []
    _check(value, schema, root, path, found)
    return bool(found)


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local `$ref` (unknown references check nothing)."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, Mapping) else {}
    return target if isinstance(target, Mapping) else {}
