"""Tests for the error classes and the (status, body) -> class mapping."""

from __future__ import annotations

import copy
import json
import pickle

import httpx
import pytest
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from langchain_glm._errors import (
    BatchFailedError,
    BatchTimeoutError,
    GLMAPIError,
    GLMAuthenticationError,
    GLMConnectionError,
    GLMContentFilterError,
    GLMContextOverflowError,
    GLMError,
    GLMInvalidRequestError,
    GLMNotFoundError,
    GLMPermissionDeniedError,
    GLMQuotaExceededError,
    GLMRateLimitError,
    GLMTimeoutError,
    error_from_payload,
    error_from_response,
    error_from_transport,
    printable,
)

API_KEY = "sk-never-shown.0123456789abcdef"


def glm_body(code: str, message: str = "something happened") -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


# (status, body, expected GLM class, expected core class, retryable)
TABLE = [
    (401, glm_body("1002"), GLMAuthenticationError, ModelAuthenticationError, False),
    (401, glm_body("1000"), GLMAuthenticationError, ModelAuthenticationError, False),
    (401, b"{}", GLMAuthenticationError, ModelAuthenticationError, False),
    (
        403,
        b'{"error":{"message":"no"}}',
        GLMPermissionDeniedError,
        ModelPermissionDeniedError,
        False,
    ),
    (434, glm_body("1220"), GLMPermissionDeniedError, ModelPermissionDeniedError, False),
    (400, glm_body("1214"), GLMInvalidRequestError, ModelInvalidRequestError, False),
    (400, glm_body("1210"), GLMInvalidRequestError, ModelInvalidRequestError, False),
    (400, glm_body("1211"), GLMNotFoundError, ModelNotFoundError, False),
    (404, b'{"error":{"message":"gone"}}', GLMNotFoundError, ModelNotFoundError, False),
    (429, glm_body("1302"), GLMRateLimitError, ModelRateLimitError, True),
    (429, glm_body("1303"), GLMRateLimitError, ModelRateLimitError, True),
    (429, glm_body("1305"), GLMRateLimitError, ModelRateLimitError, True),
    (429, glm_body("1312"), GLMRateLimitError, ModelRateLimitError, True),
    (429, glm_body("9999"), GLMRateLimitError, ModelRateLimitError, True),
    (429, glm_body("1113"), GLMQuotaExceededError, ModelRateLimitError, False),
    (429, glm_body("1304"), GLMQuotaExceededError, ModelRateLimitError, False),
    (429, glm_body("1308"), GLMQuotaExceededError, ModelRateLimitError, False),
    (400, glm_body("1261"), GLMContextOverflowError, ContextOverflowError, False),
    (400, glm_body("1301"), GLMContentFilterError, ModelInvalidRequestError, False),
    (500, glm_body("500"), GLMAPIError, ModelAPIError, True),
    (500, glm_body("1234"), GLMAPIError, ModelAPIError, True),
    (503, b'{"error":{"message":"overloaded"}}', GLMAPIError, ModelAPIError, True),
    (408, b"{}", GLMTimeoutError, ModelTimeoutError, True),
    (418, glm_body("4242"), GLMInvalidRequestError, ModelInvalidRequestError, False),
]


@pytest.mark.parametrize(("status", "body", "cls", "core_cls", "retryable"), TABLE)
def test_error_from_response_table(
    status: int,
    body: bytes,
    cls: type[GLMError],
    core_cls: type[ModelError],
    retryable: bool,
) -> None:
    error = error_from_response(status, body, {})
    assert type(error) is cls
    assert isinstance(error, core_cls)
    assert isinstance(error, ModelError)
    assert error.is_retryable is retryable
    assert error.status_code == status


def test_business_code_beats_status() -> None:
    quota = error_from_response(429, glm_body("1113", "Insufficient balance"), {})
    busy = error_from_response(429, glm_body("1302", "High concurrency usage"), {})
    assert isinstance(quota, ModelRateLimitError)
    assert not quota.is_retryable
    assert busy.is_retryable


def test_str_shows_code_status_message_and_request_id() -> None:
    body = json.dumps(
        {
            "error": {"code": "1302", "message": "Rate limit reached for requests"},
            "request_id": "20260212064144579f5b8f457f4e06",
        }
    ).encode()
    error = error_from_response(429, body, {})
    assert error.code == "1302"
    assert error.message == "Rate limit reached for requests"
    assert error.request_id == "20260212064144579f5b8f457f4e06"
    assert str(error) == (
        "GLM error 1302 (HTTP 429): Rate limit reached for requests "
        "[request_id=20260212064144579f5b8f457f4e06]"
    )


def test_chinese_message_kept_verbatim() -> None:
    error = error_from_response(429, glm_body("1113", "余额不足或无可用资源包,请充值。"), {})
    assert "余额不足或无可用资源包,请充值。" in str(error)


def test_integer_code_is_normalised_to_string() -> None:
    error = error_from_response(400, b'{"error":{"code":1214,"message":"bad"}}', {})
    assert error.code == "1214"
    assert isinstance(error, GLMInvalidRequestError)


def test_html_error_page_becomes_api_error_with_short_excerpt() -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title></head><body>"
        + "<center><h1>502 Bad Gateway</h1></center>" * 50
        + "<hr><center>nginx</center></body></html>"
    ).encode()
    error = error_from_response(502, page, {"content-type": "text/html"})
    assert type(error) is GLMAPIError
    assert error.is_retryable
    assert error.message.startswith("502 Bad Gateway 502 Bad Gateway")
    assert "<" not in error.message
    assert len(error.message) <= 200


def test_non_json_error_body_is_classed_by_status() -> None:
    error = error_from_response(404, b"<html>404 page not found</html>", {})
    assert type(error) is GLMNotFoundError
    assert error.message == "404 page not found"


def test_empty_error_body() -> None:
    error = error_from_response(500, b"", {})
    assert type(error) is GLMAPIError
    assert error.message == "empty response body"


def test_retry_after_header_is_recorded() -> None:
    error = error_from_response(429, glm_body("1302"), {"Retry-After": "2"})
    assert error.retry_after == 2.0


@pytest.mark.parametrize(
    ("payload", "cls", "code"),
    [
        (
            {"error": {"code": "1302", "message": "busy"}, "request_id": "r1"},
            GLMRateLimitError,
            "1302",
        ),
        ({"error": {"code": "1301", "message": "unsafe"}}, GLMContentFilterError, "1301"),
        ({"error": {"code": "1261", "message": "too long"}}, GLMContextOverflowError, "1261"),
        ({"code": 1113, "message": "flat shape"}, GLMQuotaExceededError, "1113"),
        ({"error": "plain string error"}, GLMAPIError, None),
        ({"error": {"code": "7777", "message": "unknown"}}, GLMAPIError, "7777"),
    ],
)
def test_in_stream_payload_mapping(
    payload: dict[str, object], cls: type[GLMError], code: str | None
) -> None:
    error = error_from_payload(payload)
    assert type(error) is cls
    assert error.code == code
    assert error.status_code is None


def test_in_stream_payload_keeps_request_id_and_message() -> None:
    error = error_from_payload({"error": {"code": "1302", "message": "busy"}, "request_id": "r1"})
    assert error.request_id == "r1"
    assert str(error) == "GLM error 1302: busy [request_id=r1]"


def test_payload_without_message_uses_excerpt_of_payload() -> None:
    error = error_from_payload({"error": {"code": "1234"}}, 500)
    assert "1234" in error.message
    assert isinstance(error, GLMAPIError)


@pytest.mark.parametrize(
    ("exc", "cls", "core_cls"),
    [
        (httpx.ConnectError("connection refused"), GLMConnectionError, ModelConnectionError),
        (httpx.ReadError("reset by peer"), GLMConnectionError, ModelConnectionError),
        (httpx.RemoteProtocolError("peer closed"), GLMConnectionError, ModelConnectionError),
        (httpx.ConnectTimeout("connect timed out"), GLMTimeoutError, ModelTimeoutError),
        (httpx.ReadTimeout("read timed out"), GLMTimeoutError, ModelTimeoutError),
        (httpx.PoolTimeout("pool timed out"), GLMTimeoutError, ModelTimeoutError),
        (httpx.WriteError("broken pipe"), GLMConnectionError, ModelConnectionError),
    ],
)
def test_transport_mapping(
    exc: httpx.TransportError, cls: type[GLMError], core_cls: type[ModelError]
) -> None:
    error = error_from_transport(exc)
    assert type(error) is cls
    assert isinstance(error, core_cls)
    # Only failures before the request reached GLM may be re-sent.
    assert error.is_retryable is isinstance(
        exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
    )
    assert error.__cause__ is exc
    assert str(exc) in str(error)
    assert type(exc).__name__ in str(error)


def test_errors_pickle_with_their_attributes() -> None:
    error = error_from_response(429, glm_body("1302", "busy"), {"retry-after": "1"})
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert type(clone) is GLMRateLimitError
    assert (clone.code, clone.status_code, clone.retry_after) == ("1302", 429, 1.0)
    assert str(clone) == str(error)


def test_api_key_from_request_never_leaks_into_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, content=glm_body("1002", "Authorization Token is invalid"))

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        response = client.post(
            "https://glm.test/chat/completions", headers={"Authorization": f"Bearer {API_KEY}"}
        )
    assert response.request.headers["Authorization"].endswith(API_KEY)
    error = error_from_response(response.status_code, response.content, response.headers)
    assert isinstance(error, GLMAuthenticationError)
    rendered = [str(error), repr(error), repr(vars(error)), repr(error.args)]
    assert not any(API_KEY in text or "never-shown" in text for text in rendered)


# ------------------------------------------------- server text shown safely, copies faithful


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x00\x07\x7f", "\\x00\\x07\\x7f"),
        ("\x85\x9b", "\\x85\\x9b"),
        ("\u202egnp.exe\u2066\u200f", "\\u202egnp.exe\\u2066\\u200f"),
        ("\u2028\ud800", "\\u2028\\ud800"),
        ("余额不足 é ✓ …", "余额不足 é ✓ …"),
    ],
)
def test_printable_escapes_every_control_visibly(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert printable(raw).isprintable()


def test_server_text_in_every_error_field_is_escaped() -> None:
    evil = "m\x1b]8;;http://e.example\x07\nforged\u202e"
    body = {"error": {"code": f"1\x1b{evil}", "message": evil}, "request_id": evil}
    errors = [
        error_from_response(400, json.dumps(body).encode(), {}),
        error_from_response(502, f"<p>{evil}</p>".encode(), {}),
        error_from_response(302, b"", {"location": evil}),
        error_from_payload(body),
    ]
    for error in errors:
        fields = [str(error), repr(error), error.message, error.code or "", error.request_id or ""]
        assert all(c.isprintable() for text in fields for c in text), fields
        assert "\\x1b]8;;" in str(error)


@pytest.mark.parametrize(
    "error",
    [
        GLMRateLimitError("busy", status_code=429, code="1302", request_id="r1", retry_after=2),
        BatchFailedError("bad file", batch_id="batch_1"),
        BatchTimeoutError("still running", job_id="batch_2"),
    ],
)
def test_errors_copy_and_pickle_with_every_attribute(error: GLMError) -> None:
    error.custom_id = "lcg-x"
    error.add_note("a note")
    for twin in (copy.copy(error), pickle.loads(pickle.dumps(error))):  # noqa: S301 - our own
        assert type(twin) is type(error)
        assert twin is not error
        assert vars(twin) == vars(error)
        assert str(twin) == str(error)
        assert twin.args == error.args
