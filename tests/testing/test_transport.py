"""`GLMTransport`: the same behaviour in-process, through plain httpx (sync and async)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import langchain_glm.testing
from langchain_glm.testing import GLMTransport
from tests.testing.helpers import AUTH, chat, split_events


async def _post(mode: str, glm: GLMTransport, body: object, wait: float = 5.0) -> httpx.Response:
    url = glm.base_url + "/chat/completions"
    if mode == "sync":
        with httpx.Client(transport=glm, timeout=wait) as http:
            return http.post(url, json=body, headers=AUTH)  # noqa: ASYNC212 - the sync client
    async with httpx.AsyncClient(transport=glm, timeout=wait) as ahttp:
        return await ahttp.post(url, json=body, headers=AUTH)


async def test_default_reply_and_recording(mode: str) -> None:
    glm = GLMTransport()
    response = await _post(mode, glm, chat("hi"))
    assert response.json()["choices"][0]["message"]["content"] == "You said: hi"
    assert glm.last_request.json == chat("hi")
    assert glm.last_request.headers["authorization"] == "Bearer test-key"
    assert glm.last_request.connection_id == 0


async def test_stream_and_errors(mode: str) -> None:
    glm = GLMTransport()
    glm.reply("abcd", chunk_size=2)
    glm.reply_error(429, "1302", retry_after=2)
    stream = await _post(mode, glm, chat(stream=True, thinking={"type": "disabled"}))
    events = split_events(stream.content)
    assert events[-1] == b"[DONE]"
    assert [json.loads(e)["choices"][0]["delta"]["content"] for e in events[:-1]] == [
        "ab",
        "cd",
        "",
    ]
    limited = await _post(mode, glm, chat())
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "2")
    assert limited.json()["error"]["code"] == "1302"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"disconnect": True}, httpx.RemoteProtocolError),
        ({"cut_after": 1, "chunk_size": 1}, httpx.RemoteProtocolError),
        ({"delay_before_headers": 5.0}, httpx.ReadTimeout),
        ({"trickle": 5.0, "chunk_size": 1}, httpx.ReadTimeout),
    ],
)
async def test_faults_raise_as_over_a_socket(
    mode: str, fault: dict[str, Any], error: type[Exception]
) -> None:
    glm = GLMTransport()
    glm.reply("abc", **fault)
    with pytest.raises(error):
        await _post(mode, glm, chat(stream=True), wait=0.05)
    assert glm.pending == 0


def test_module_docstring_example_runs() -> None:
    doc = langchain_glm.testing.__doc__ or ""
    code = doc.split("```python\n")[1].split("```")[0]
    exec(compile(code, "langchain_glm.testing docstring", "exec"), {})  # noqa: S102 - our docs
