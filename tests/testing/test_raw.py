"""`reply_raw`: bodies served byte for byte (replaying real captures)."""

from __future__ import annotations

from langchain_glm.testing import GLMServer, WireReply
from tests.testing.helpers import AUTH, chat, client

FRAMES = b'data: {"id":"1","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\ndata: [DONE]\n\n'


def test_raw_sse_and_json_are_served_verbatim(glm_server: GLMServer) -> None:
    glm_server.reply_raw(FRAMES)
    glm_server.reply_raw('{"id": "x"}', status=201)
    glm_server.reply_raw(b"oops", status=502, content_type="text/plain")
    with client() as http:
        first = http.post(
            glm_server.base_url + "/chat/completions", json=chat(stream=True), headers=AUTH
        )
        second = http.post(glm_server.base_url + "/chat/completions", json=chat(), headers=AUTH)
        third = http.post(glm_server.base_url + "/chat/completions", json=chat(), headers=AUTH)
    assert (first.status_code, first.content) == (200, FRAMES)
    assert first.headers["content-type"].startswith("text/event-stream")
    assert (second.status_code, second.content) == (201, b'{"id": "x"}')
    assert second.headers["content-type"].startswith("application/json")
    assert (third.status_code, third.text, third.headers["content-type"]) == (
        502,
        "oops",
        "text/plain",
    )
    assert len(glm_server.requests) == 3


def test_scripts_may_return_plans(glm_server: GLMServer) -> None:
    glm_server.script(lambda request: WireReply.of(200, request.body))
    with client() as http:
        echoed = http.post(
            glm_server.base_url + "/chat/completions", json=chat("echo me"), headers=AUTH
        )
    assert echoed.json()["messages"][0]["content"] == "echo me"


def test_a_scripted_plan_may_name_its_length_in_lower_case(glm_server: GLMServer) -> None:
    headers = {"content-type": "text/plain", "content-length": "5"}
    glm_server.script(lambda request: WireReply(201, headers, (b"he", b"llo")))
    with client() as http:
        served = http.post(glm_server.base_url + "/chat/completions", json=chat(), headers=AUTH)
        again = http.post(glm_server.base_url + "/chat/completions", json=chat(), headers=AUTH)
    assert (served.status_code, served.content, again.content) == (201, b"hello", b"hello")
    assert "transfer-encoding" not in served.headers
