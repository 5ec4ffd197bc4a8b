"""The structured-output checker: every JSON Schema keyword class is enforced, none silently."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_glm._schema import require_checkable, schema_errors

# (schema, conforming value, violating value, expected error) for each keyword class.
CASES: dict[str, tuple[dict[str, Any], Any, Any, str]] = {
    "type": ({"type": "integer"}, 3, True, "$: True is not of type 'integer'"),
    "type-list": ({"type": ["string", "null"]}, None, 1, "$: 1 is not of type 'string', 'null'"),
    "integer-valued float": ({"type": "integer"}, 3.0, 3.5, "$: 3.5 is not of type 'integer'"),
    "enum": ({"enum": ["red", "blue"]}, "red", "green", "$: 'green' is not one of ['red', 'blue']"),
    "const": ({"const": "joke"}, "joke", "poem", "$: 'joke' was expected"),
    "minimum": ({"minimum": 1}, 1, 0, "$: 0 is less than the minimum of 1"),
    "maximum": ({"maximum": 5}, 5, 6, "$: 6 is greater than the maximum of 5"),
    "exclusiveMinimum": (
        {"exclusiveMinimum": 0},
        0.1,
        0,
        "$: 0 is less than or equal to the minimum of 0",
    ),
    "exclusiveMaximum": (
        {"exclusiveMaximum": 1},
        0.9,
        1,
        "$: 1 is greater than or equal to the maximum of 1",
    ),
    "multipleOf": ({"multipleOf": 5}, 10, 12, "$: 12 is not a multiple of 5"),
    "minLength": ({"minLength": 2}, "ab", "a", "$: 'a' is too short"),
    "maxLength": ({"maxLength": 3}, "abc", "abcd", "$: 'abcd' is too long"),
    "pattern": ({"pattern": "^[A-Z]{2}$"}, "IT", "it", "$: 'it' does not match '^[A-Z]{2}$'"),
    "format": ({"format": "date"}, "2025-10-23", "23/10/2025", "$: '23/10/2025' is not a 'date'"),
    "items": (
        {"items": {"type": "string"}},
        ["a"],
        ["a", 2],
        "$[1]: 2 is not of type 'string'",
    ),
    "prefixItems": (
        {"prefixItems": [{"type": "integer"}, {"type": "string"}]},
        [1, "a"],
        [1, 2],
        "$[1]: 2 is not of type 'string'",
    ),
    "minItems": ({"minItems": 1}, [1], [], "$: [] should be non-empty"),
    "maxItems": ({"maxItems": 1}, [1], [1, 2], "$: [1, 2] is too long"),
    "uniqueItems": ({"uniqueItems": True}, [1, 2], [1, 1], "$: [1, 1] has non-unique elements"),
    "contains": (
        {"contains": {"const": "x"}},
        ["a", "x"],
        ["a"],
        "$: ['a'] does not contain items matching the given schema",
    ),
    "required": (
        {"required": ["n"]},
        {"n": 1},
        {},
        "$: 'n' is a required property",
    ),
    "properties": (
        {"properties": {"n": {"type": "integer"}}},
        {"n": 1},
        {"n": "1"},
        "$.n: '1' is not of type 'integer'",
    ),
    "additionalProperties false": (
        {"properties": {"n": {}}, "additionalProperties": False},
        {"n": 1},
        {"n": 1, "m": 2},
        "$: Additional properties are not allowed ('m' was unexpected)",
    ),
    "additionalProperties schema": (
        {"additionalProperties": {"type": "integer"}},
        {"a": 1},
        {"a": "x"},
        "$.a: 'x' is not of type 'integer'",
    ),
    "patternProperties": (
        {"patternProperties": {"^n_": {"type": "integer"}}},
        {"n_a": 1},
        {"n_a": "x"},
        "$.n_a: 'x' is not of type 'integer'",
    ),
    "propertyNames": (
        {"propertyNames": {"maxLength": 2}},
        {"ab": 1},
        {"abc": 1},
        "$: 'abc' is too long",
    ),
    "minProperties": ({"minProperties": 1}, {"a": 1}, {}, "$: {} should be non-empty"),
    "maxProperties": (
        {"maxProperties": 1},
        {"a": 1},
        {"a": 1, "b": 2},
        "$: {'a': 1, 'b': 2} has too many properties",
    ),
    "dependentRequired": (
        {"dependentRequired": {"card": ["cvc"]}},
        {"card": 1, "cvc": 2},
        {"card": 1},
        "$: 'cvc' is a dependency of 'card'",
    ),
    "anyOf": (
        {"anyOf": [{"type": "string"}, {"type": "null"}]},
        None,
        5,
        "$: 5 is not valid under any of the given schemas",
    ),
    "oneOf": (
        {"oneOf": [{"type": "integer"}, {"minimum": 0}]},
        -1,
        1,
        "$: 1 is valid under each of {'minimum': 0}, {'type': 'integer'}",
    ),
    "allOf": (
        {"allOf": [{"type": "string"}, {"minLength": 2}]},
        "ab",
        "a",
        "$: 'a' is too short",
    ),
    "not": (
        {"not": {"type": "null"}},
        1,
        None,
        "$: None should not be valid under {'type': 'null'}",
    ),
    "if-then-else": (
        {"if": {"type": "integer"}, "then": {"minimum": 0}, "else": {"type": "string"}},
        "s",
        -1,
        "$: -1 is less than the minimum of 0",
    ),
    "$ref $defs": (
        {"$defs": {"Color": {"enum": ["red"]}}, "properties": {"c": {"$ref": "#/$defs/Color"}}},
        {"c": "red"},
        {"c": "green"},
        "$.c: 'green' is not one of ['red']",
    ),
    "$ref definitions": (
        {"definitions": {"N": {"type": "integer"}}, "items": {"$ref": "#/definitions/N"}},
        [1],
        ["1"],
        "$[0]: '1' is not of type 'integer'",
    ),
    "false schema": (
        {"properties": {"never": False}},
        {},
        {"never": 1},
        "$: False schema does not allow 1",  # jsonschema leaves a false subschema's path out
    ),
}


@pytest.mark.parametrize(("schema", "good", "bad", "error"), CASES.values(), ids=list(CASES))
def test_each_keyword_class(schema: dict[str, Any], good: Any, bad: Any, error: str) -> None:
    require_checkable(schema)
    assert schema_errors(good, schema) == []
    assert schema_errors(bad, schema) == [error]


def test_every_violation_is_reported_with_its_path() -> None:
    schema = {
        "type": "object",
        "properties": {
            "orders": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"qty": {"minimum": 1}, "code": {"maxLength": 2}},
                    "additionalProperties": False,
                },
            }
        },
        "required": ["orders", "customer"],
    }
    errors = schema_errors({"orders": [{"qty": 1}, {"qty": 0, "code": "abc", "x": 1}]}, schema)
    assert sorted(errors) == sorted(
        [
            "$: 'customer' is a required property",
            "$.orders[1]: Additional properties are not allowed ('x' was unexpected)",
            "$.orders[1].code: 'abc' is too long",
            "$.orders[1].qty: 0 is less than the minimum of 1",
        ]
    )


def test_the_schema_draft_is_honoured() -> None:
    # Draft 4 writes exclusiveMinimum as a flag on minimum; 2020-12 as a number.
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "minimum": 0}
    assert schema_errors(0, {**draft4, "exclusiveMinimum": True}) == [
        "$: 0 is less than or equal to the minimum of 0"
    ]
    with pytest.raises(ValueError, match="not a valid JSON schema"):
        require_checkable({"exclusiveMinimum": True})  # a flag is invalid in 2020-12


@pytest.mark.parametrize(
    "ref", ["#/$defs/missing", "https://example.invalid/schema.json", "other.json#/a"]
)
def test_a_reference_that_resolves_nowhere_is_an_error(ref: str) -> None:
    # Never fetched (unit tests run without sockets) and never skipped.
    errors = schema_errors({"a": 1}, {"properties": {"a": {"$ref": ref}}})
    assert len(errors) == 1
    assert errors[0].startswith("$: the schema reference ")
    assert errors[0].endswith(" cannot be resolved")


@pytest.mark.parametrize(
    "schema",
    [{"type": "objekt"}, {"minLength": -1}, {"required": "name"}, {"properties": []}],
)
def test_an_invalid_schema_is_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not a valid JSON schema"):
        require_checkable(schema)
