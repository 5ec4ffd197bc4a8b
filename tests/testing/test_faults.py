"""Faults: error replies, Retry-After, delays, trickle, cuts, in-stream errors, bad JSON."""

from __future__ import annotations

import json

import httpx
import pytest

from langchain_glm.testing import GLMServer
from tests.testing.helpers import AUTH, aclient, chat, client, deltas, post, split_events


async def read_stream(
    mode: str, server: GLMServer, body: dict[str, object], http_timeout: float = 5.0
) -> tuple[bytes, Exception | None]:
    """Read a response body piece by piece; return what arrived and the error that ended it."""
    url = server.base_url + "/chat/completions"
    data = b""
    try:
        if mode == "sync":
            with (
                client(timeout=http_timeout) as sync_http,
                sync_http.stream("POST", url, json=body, headers=AUTH) as response,
            ):
                for piece in response.iter_raw():
                    data += piece
        else:
            async with (
                aclient(timeout=http_timeout) as async_http,
                async_http.stream("POST", url, json=body, headers=AUTH) as aresponse,
            ):
                async for piece in aresponse.aiter_raw():
                    data += piece
    except httpx.HTTPError as exc:
        return data, exc
    return data, None


@pytest.mark.parametrize("stream", [False, True])
async def test_error_reply(glm_server: GLMServer, mode: str, stream: bool) -> None:
    glm_server.reply_error(429, "1302", retry_after=2)
    result = await post(mode, glm_server, chat(stream=stream))
    assert result.status == 429
    assert result.headers["retry-after"] == "2"
    assert result.headers["content-type"] == "application/json"
    assert result.json() == {
        "error": {
            "code": "1302",
            "message": "High concurrency usage of this API, please reduce concurrency or "
            "contact customer service to increase limits",
        }
    }


async def test_error_reply_options(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_error(429, "1113")
    glm_server.reply_error(
        500,
        "500",
        "boom",
        retry_after=0.25,
        headers={"retry-after-ms": "250", "x-should-retry": "true"},
    )
    quota = await post(mode, glm_server, chat())
    assert quota.json()["error"] == {
        "code": "1113",
        "message": "Insufficient balance or no resource package. Please recharge.",
    }
    assert "retry-after" not in quota.headers
    server_error = await post(mode, glm_server, chat())
    assert server_error.status == 500
    assert server_error.json()["error"] == {"code": "500", "message": "boom"}
    assert server_error.headers["retry-after"] == "0.25"
    assert server_error.headers["retry-after-ms"] == "250"
    assert server_error.headers["x-should-retry"] == "true"


async def test_html_error_page(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_error(502, "502", html=True)
    result = await post(mode, glm_server, chat(stream=True))
    assert result.status == 502
    assert result.headers["content-type"] == "text/html"
    assert result.body.startswith(b"<html>")
    assert b"<title>502 Bad Gateway</title>" in result.body


async def test_errors_then_success(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_error(429, "1305", times=2)
    glm_server.reply("finally")
    statuses = [(await post(mode, glm_server, chat())).status for _ in range(3)]
    assert statuses == [429, 429, 200]
    assert glm_server.pending == 0


@pytest.mark.parametrize("kind", ["reply", "error"])
async def test_delay_before_headers(glm_server: GLMServer, mode: str, kind: str) -> None:
    if kind == "reply":
        glm_server.reply("late", delay_before_headers=2.0)
    else:
        glm_server.reply_error(429, "1302", delay_before_headers=2.0)
    data, error = await read_stream(mode, glm_server, chat(), http_timeout=0.1)
    assert isinstance(error, httpx.ReadTimeout)
    assert data == b""
    follow_up = await post(mode, glm_server, chat())
    assert follow_up.status == 200


async def test_trickle_paces_frames(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("0123456789", reasoning="r", chunk_size=5, trickle=2.0)
    data, error = await read_stream(mode, glm_server, chat(stream=True), http_timeout=0.3)
    assert isinstance(error, httpx.ReadTimeout)
    assert split_events(data) == split_events(data)[:1]  # exactly the first frame arrived
    assert json.loads(split_events(data)[0])["choices"][0]["delta"]["content"] == "\n"


async def test_short_trickle_delivers_the_same_frames(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("0123456789", reasoning="r", chunk_size=3)
    glm_server.reply("0123456789", reasoning="r", chunk_size=3, trickle=0.001)
    fast = (await post(mode, glm_server, chat(stream=True))).frames
    slow = (await post(mode, glm_server, chat(stream=True))).frames
    assert len(slow) == 7  # "\n", reasoning, 4 content frames, final frame
    assert deltas(slow) == deltas(fast)


async def test_cut_after_frames(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("abcdefgh", chunk_size=2, cut_after=3)
    data, error = await read_stream(
        mode, glm_server, chat(stream=True, thinking={"type": "disabled"})
    )
    assert isinstance(error, httpx.RemoteProtocolError)
    events = split_events(data)
    assert [json.loads(e)["choices"][0]["delta"]["content"] for e in events] == ["ab", "cd", "ef"]
    assert (await post(mode, glm_server, chat())).status == 200  # the server lives on


async def test_cut_non_stream_mid_body(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("abc", cut_after=1)
    data, error = await read_stream(mode, glm_server, chat())
    assert isinstance(error, httpx.RemoteProtocolError)
    assert data.startswith(b'{"choices":')


@pytest.mark.parametrize("stream", [False, True])
async def test_disconnect_without_response(glm_server: GLMServer, mode: str, stream: bool) -> None:
    glm_server.reply("never", disconnect=True)
    data, error = await read_stream(mode, glm_server, chat(stream=stream))
    assert isinstance(error, httpx.RemoteProtocolError)
    assert "without sending a response" in str(error)
    assert data == b""


async def test_in_stream_error_frame(glm_server: GLMServer, mode: str) -> None:
    error = {"code": "1305", "message": "The service may be temporarily overloaded"}
    glm_server.reply("abcdef", chunk_size=2, stream_error=error, stream_error_after=2)
    result = await post(mode, glm_server, chat(stream=True, thinking={"type": "disabled"}))
    assert result.status == 200
    events = result.events
    assert len(events) == 3
    assert [json.loads(e)["choices"][0]["delta"]["content"] for e in events[:2]] == ["ab", "cd"]
    assert json.loads(events[2]) == {"error": error}
    assert b"[DONE]" not in result.body


async def test_error_body_on_200(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply(stream_error={"error": {"code": "1234", "message": "net"}, "request_id": "r1"})
    result = await post(mode, glm_server, chat())
    assert result.status == 200
    assert result.json() == {"error": {"code": "1234", "message": "net"}, "request_id": "r1"}


async def test_malformed_frame(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("abcd", chunk_size=2, malformed_after=1)
    result = await post(mode, glm_server, chat(stream=True, thinking={"type": "disabled"}))
    events = result.events
    assert events[-1] == b"[DONE]"
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[1])
    good = [json.loads(e) for i, e in enumerate(events[:-1]) if i != 1]
    assert [f["choices"][0]["delta"]["content"] for f in good] == ["ab", "cd", ""]


async def test_malformed_non_stream_body(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("abcd", malformed_after=0)
    result = await post(mode, glm_server, chat())
    assert result.status == 200
    with pytest.raises(json.JSONDecodeError):
        result.json()


async def test_faults_keep_the_connection_when_they_can(glm_server: GLMServer) -> None:
    glm_server.reply_error(429, "1302")
    glm_server.reply("x", stream_error={"code": "1302", "message": "m"})
    glm_server.reply("x", malformed_after=0)
    async with aclient(headers=AUTH) as http:
        for stream in (False, True, True, True):
            await http.post(glm_server.base_url + "/chat/completions", json=chat(stream=stream))
    assert {r.connection_id for r in glm_server.requests} == {1}
