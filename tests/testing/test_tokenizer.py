"""`POST /tokenizer`: GLM's token-counting endpoint, driven with plain httpx."""

from __future__ import annotations

import re

from langchain_glm.testing import GLMServer
from tests.testing.helpers import AUTH, ID_RE, chat, client


def test_tokenizer_counts_like_chat_usage(glm_server: GLMServer) -> None:
    body = chat("count me, please")
    with client() as http:
        counted = http.post(glm_server.base_url + "/tokenizer", json=body, headers=AUTH)
        answered = http.post(glm_server.base_url + "/chat/completions", json=body, headers=AUTH)
    assert counted.status_code == 200
    data = counted.json()
    assert re.match(ID_RE, data["id"])
    assert data["request_id"] == data["id"]
    usage = data["usage"]
    assert set(usage) == {"prompt_tokens", "image_tokens", "video_tokens", "total_tokens"}
    assert (
        usage["prompt_tokens"] == usage["total_tokens"] == answered.json()["usage"]["prompt_tokens"]
    )


def test_tokenizer_counts_tools_and_validates(glm_server: GLMServer) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    url = glm_server.base_url + "/tokenizer"
    with client() as http:
        plain = http.post(url, json=chat("x"), headers=AUTH).json()["usage"]["prompt_tokens"]
        tooled = http.post(url, json=chat("x", tools=[tool]), headers=AUTH)
        unknown = http.post(url, json={"model": "gpt-4", "messages": []}, headers=AUTH)
        anonymous = http.post(url, json=chat("x"))
    assert tooled.json()["usage"]["prompt_tokens"] > plain
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "1211")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "1001")


def test_tokenizer_does_not_consume_queued_replies(glm_server: GLMServer) -> None:
    glm_server.reply(text="still queued")
    with client() as http:
        http.post(glm_server.base_url + "/tokenizer", json=chat("x"), headers=AUTH)
        reply = http.post(glm_server.base_url + "/chat/completions", json=chat("x"), headers=AUTH)
    assert reply.json()["choices"][0]["message"]["content"] == "still queued"
    assert [r.path for r in glm_server.requests] == [
        "/api/paas/v4/tokenizer",
        "/api/paas/v4/chat/completions",
    ]
