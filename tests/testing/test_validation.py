"""Request validation, routing and authentication, as the real service answers them (§3, §6)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from langchain_glm.testing import GLMServer
from tests.testing.helpers import AUTH, chat, client, post


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


ILLEGAL = "The messages parameter is illegal. Please check the documentation."

BODY_CASES = [
    ({"model": "glm-9"}, 400, _error("1211", "Model does not exist, please check the model code.")),
    ({"model": None}, 400, _error("1211", "Model does not exist, please check the model code.")),
    ({"messages": []}, 400, _error("1214", "messages: input cannot be empty")),
    ({"messages": None}, 400, _error("1214", "messages: input cannot be empty")),
    ({"messages": [{"role": "robot", "content": "x"}]}, 400, _error("1214", ILLEGAL)),
    (
        {
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": "u"},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text"}]},
            ]
        },
        400,
        _error("1214", "messages[2].content[1].text: cannot be empty"),
    ),
    (
        {"messages": [{"role": "tool", "content": "40 C"}]},
        400,
        _error("1214", "messages[0].tool_call_id: cannot be empty"),
    ),
    ({"stop": ["a", "b"]}, 400, _error("1210", "stop: at most 1 stop word is supported")),
    ({"tool_choice": "required"}, 400, _error("1210", "Tool choice must be auto")),
    ({"tool_choice": "none"}, 400, _error("1210", "Tool choice must be auto")),
    (
        {"tool_choice": {"type": "function", "function": {"name": "f"}}},
        400,
        _error("1210", "Tool choice must be auto"),
    ),
    ({"temperature": 1.5}, 400, _error("1214", "temperature: must be between 0 and 1")),
    ({"max_tokens": 0}, 400, _error("1210", "max_tokens参数非法：限制数值范围[1,131072]")),  # noqa: RUF001
    (
        {"thinking": {"type": "auto"}},
        400,
        _error("1214", "thinking.type: must be enabled or disabled"),
    ),
    (
        {"tools": [{"type": "function", "function": {"name": "bad name"}}]},
        400,
        _error("1214", "tools[0].function.name: must match ^[a-zA-Z0-9_-]{1,64}$"),
    ),
]


@pytest.mark.parametrize(("change", "status", "error"), BODY_CASES)
async def test_body_validation(
    glm_server: GLMServer, mode: str, change: dict[str, Any], status: int, error: dict[str, Any]
) -> None:
    result = await post(mode, glm_server, {**chat(), **change})
    assert result.status == status
    assert result.headers["content-type"] == "application/json"
    assert result.json() == error


@pytest.mark.parametrize(
    "change",
    [
        {"stop": ["END"]},
        {"stop": "END"},
        {"tool_choice": "auto"},
        {"temperature": 0.0, "top_p": 1.0, "max_tokens": 131072},
        {"thinking": {"type": "enabled", "clear_thinking": False}},
        {"stream_options": {"include_usage": True}, "unknown_field": 1},
        {"tools": [{"type": "web_search", "web_search": {"enable": True}}]},
    ],
)
async def test_accepted_bodies(glm_server: GLMServer, mode: str, change: dict[str, Any]) -> None:
    assert (await post(mode, glm_server, {**chat(), **change})).status == 200


async def test_body_that_is_not_json(glm_server: GLMServer, mode: str) -> None:
    result = await post(mode, glm_server, content=b"{not json")
    assert result.status == 400
    assert result.json()["error"]["code"] == "1210"
    assert glm_server.last_request.json is None
    assert glm_server.last_request.body == b"{not json"


async def test_rejected_request_does_not_consume_the_queue(
    glm_server: GLMServer, mode: str
) -> None:
    glm_server.reply("scripted")
    assert (await post(mode, glm_server, chat(tool_choice="required"))).status == 400
    assert glm_server.pending == 1
    body = (await post(mode, glm_server, chat())).json()
    assert body["choices"][0]["message"]["content"] == "scripted"


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "1001"), ({"Authorization": "Bearer"}, "1001"), ({"Authorization": ""}, "1001")],
)
async def test_missing_key(
    glm_server: GLMServer, mode: str, headers: dict[str, str], code: str
) -> None:
    result = await post(mode, glm_server, chat(), headers=headers)
    assert result.status == 401
    assert result.json()["error"]["code"] == code


def _jwt(key: str, *, ttl_ms: int = 210_000, secret: str | None = None) -> str:
    key_id, _, real_secret = key.partition(".")

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time() * 1000)
    header = b64(json.dumps({"alg": "HS256", "sign_type": "SIGN"}).encode())
    claims = b64(json.dumps({"api_key": key_id, "exp": now + ttl_ms, "timestamp": now}).encode())
    signing = (secret or real_secret).encode()
    sig = hmac.new(signing, f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(sig)}"


KEY = "12345678.abcdefg"


@pytest.mark.glm_server(api_key=KEY)
@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        (KEY, 200, None),
        ("wrong", 401, "1002"),
        (_jwt(KEY), 200, None),
        (_jwt(KEY, ttl_ms=-1000), 401, "1003"),
        (_jwt(KEY, secret="other"), 401, "1002"),
        ("a.b.c", 401, "1002"),
    ],
)
async def test_exact_key_and_jwt(
    glm_server: GLMServer, mode: str, token: str, status: int, code: str | None
) -> None:
    result = await post(mode, glm_server, chat(), headers={"Authorization": f"Bearer {token}"})
    assert result.status == status
    if code:
        assert result.json()["error"]["code"] == code
        assert KEY not in result.body.decode()


async def test_wrong_key_message_is_the_real_one(mode: str) -> None:
    with GLMServer(api_key="right") as server:
        result = await post(mode, server, chat(), headers={"Authorization": "Bearer nope"})
    assert result.json() == _error(
        "1002",
        "Authorization Token is invalid, please ensure that the Authorization Token is "
        "correctly provided.",
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/paas/v4/chat/completions",
        "/api/coding/paas/v4/chat/completions",
        "/v1/chat/completions",
    ],
)
def test_routes(glm_server: GLMServer, path: str) -> None:
    with client() as http:
        response = http.post(glm_server.url + path, json=chat(), headers=AUTH)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "You said: hello"
    assert glm_server.last_request.path == path


async def test_unknown_path_and_method(glm_server: GLMServer, mode: str) -> None:
    missing = await post(mode, glm_server, chat(), path="/models")
    assert missing.status == 404
    assert missing.json()["error"]["code"] == "1222"
    wrong_method = await post(mode, glm_server, method="GET")
    assert wrong_method.status == 405
    assert wrong_method.json()["error"]["code"] == "1222"


@pytest.mark.glm_server(models=["my-model"], validate=True)
async def test_custom_models(glm_server: GLMServer, mode: str) -> None:
    assert (await post(mode, glm_server, {**chat(), "model": "my-model"})).status == 200
    assert (await post(mode, glm_server, chat())).status == 400


@pytest.mark.glm_server(validate=False)
async def test_validation_can_be_turned_off(glm_server: GLMServer, mode: str) -> None:
    result = await post(mode, glm_server, {"model": "anything", "messages": [], "tool_choice": "x"})
    assert result.status == 200
    assert result.json()["model"] == "anything"
    assert (await post(mode, glm_server, content=b"[]")).status == 400
