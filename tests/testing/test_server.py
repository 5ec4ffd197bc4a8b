"""Server behaviour: lifecycle, keep-alive, recording, scripts, concurrency, CLI and fixture."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from langchain_glm.testing import ErrorReply, GLMServer, RecordedRequest, Reply
from tests.testing.helpers import AUTH, aclient, chat, client, post, split_events

ROOT = Path(__file__).resolve().parents[2]


async def test_keep_alive_reuses_one_connection(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply_error(429, "1302")
    url = glm_server.base_url + "/chat/completions"
    bodies = [chat(), chat(stream=True), chat(), chat(stream=True)]
    if mode == "sync":
        with client(headers=AUTH) as sync_http:
            statuses = [sync_http.post(url, json=b).status_code for b in bodies]
    else:
        async with aclient(headers=AUTH) as async_http:
            statuses = [(await async_http.post(url, json=b)).status_code for b in bodies]
    assert statuses == [429, 200, 200, 200]
    assert [r.connection_id for r in glm_server.requests] == [1, 1, 1, 1]


def _exchange(sock: socket.socket, request: bytes, end: bytes) -> bytes:
    sock.sendall(request)
    data = b""
    while not data.endswith(end):
        piece = sock.recv(65536)
        assert piece, data
        data += piece
    return data


def test_raw_http_framing(glm_server: GLMServer) -> None:
    body = json.dumps(chat(stream=True)).encode()
    head = (
        f"POST /api/paas/v4/chat/completions HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer k\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", glm_server.port), timeout=5) as sock:
        streamed = _exchange(sock, head + body, b"\r\n0\r\n\r\n")
        assert streamed.startswith(b"HTTP/1.1 200 OK\r\n")
        headers, _, chunked = streamed.partition(b"\r\n\r\n")
        assert b"Transfer-Encoding: chunked" in headers
        assert b"Connection: keep-alive" in headers
        events, rest = [], chunked
        while rest != b"0\r\n\r\n":
            size, _, rest = rest.partition(b"\r\n")
            events.append(rest[: int(size, 16)])
            assert rest[int(size, 16) : int(size, 16) + 2] == b"\r\n"
            rest = rest[int(size, 16) + 2 :]
        assert events[-1] == b"data: [DONE]\n\n"
        assert all(e.startswith(b"data: ") and e.endswith(b"\n\n") for e in events)
        plain = json.dumps(chat()).encode()
        chunked_body = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
            9,
            plain[:9],
            len(plain) - 9,
            plain[9:],
        )
        head2 = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: k\r\n"
        head2 += b"Connection: close\r\n"
        second = _exchange(sock, head2 + b"Transfer-Encoding: chunked\r\n\r\n" + chunked_body, b"}")
    headers, _, payload = second.partition(b"\r\n\r\n")
    assert b"Connection: close" in headers
    assert int(re.findall(rb"Content-Length: (\d+)", headers)[0]) == len(payload)
    assert json.loads(payload)["choices"][0]["message"]["content"] == "You said: hello"
    assert glm_server.requests[0].connection_id == glm_server.requests[1].connection_id


async def test_requests_are_recorded(glm_server: GLMServer, mode: str) -> None:
    headers = {**AUTH, "X-Custom-Header": "Value", "User-Agent": "tests/1"}
    await post(
        mode, glm_server, chat("hi", temperature=0.5), headers=headers, path="/chat/completions?a=1"
    )
    await post(mode, glm_server, chat(), path="/nowhere")
    first, second = glm_server.requests
    assert first.method == "POST"
    assert first.path == "/api/paas/v4/chat/completions"
    assert first.query == "a=1"
    assert first.headers["x-custom-header"] == "Value"
    assert first.headers["authorization"] == "Bearer test-key"
    assert first.headers["user-agent"] == "tests/1"
    assert first.json == chat("hi", temperature=0.5)
    assert json.loads(first.body) == first.json
    assert second.path == "/api/paas/v4/nowhere"
    assert glm_server.last_request is second


async def test_script_sees_each_request(glm_server: GLMServer, mode: str) -> None:
    def script(request: RecordedRequest) -> Reply | ErrorReply:
        messages = request.json["messages"]
        if messages[-1]["content"] == "fail":
            return ErrorReply(429, "1302", retry_after=1)
        return Reply(f"{len(messages)} messages to {request.json['model']}")

    glm_server.script(script)
    ok = await post(mode, glm_server, chat("x"))
    assert ok.json()["choices"][0]["message"]["content"] == "1 messages to glm-4.6"
    failed = await post(mode, glm_server, chat("fail", stream=True))
    assert failed.status == 429
    assert failed.headers["retry-after"] == "1"
    glm_server.script(None)
    again = await post(mode, glm_server, chat("x"))
    assert again.json()["choices"][0]["message"]["content"] == "You said: x"


async def test_queue_then_script_then_default(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("first")
    glm_server.enqueue(Reply("second"), lambda request: Reply(f"third {request.connection_id > 0}"))
    assert glm_server.pending == 3
    glm_server.script(lambda request: Reply("scripted"))
    texts = []
    for _ in range(5):
        body = (await post(mode, glm_server, chat())).json()
        texts.append(body["choices"][0]["message"]["content"])
    assert texts == ["first", "second", "third True", "scripted", "scripted"]
    assert glm_server.pending == 0
    glm_server.reset()
    assert glm_server.requests == []
    body = (await post(mode, glm_server, chat("again"))).json()
    assert body["choices"][0]["message"]["content"] == "You said: again"


async def test_script_errors_become_500(glm_server: GLMServer, mode: str) -> None:
    def broken(request: RecordedRequest) -> Reply:
        raise KeyError("oops")

    glm_server.script(broken)
    result = await post(mode, glm_server, chat())
    assert result.status == 500
    assert result.json()["error"]["code"] == "500"
    assert "KeyError" in result.json()["error"]["message"]
    assert [type(e) for e in glm_server.script_errors] == [KeyError]


def test_reply_rejects_impossible_scripts(glm_server: GLMServer) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        glm_server.reply("x", chunk_size=0)
    with pytest.raises(ValueError, match="without a name"):
        glm_server.reply(tool_calls=[{"arguments": {}}])
    with pytest.raises(ValueError, match=">= 0"):
        glm_server.reply(cut_after=-1)
    assert glm_server.pending == 0


def test_lifecycle() -> None:
    server = GLMServer()
    assert repr(server) == "GLMServer(stopped)"
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    assert server.start() is server
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    port = server.port
    assert server.base_url == f"http://127.0.0.1:{port}/api/paas/v4"
    with client() as http:
        assert http.post(
            server.base_url + "/chat/completions", json=chat(), headers=AUTH
        ).is_success
    server.stop()
    server.stop()
    with client() as http, pytest.raises(httpx.ConnectError):
        http.post(f"http://127.0.0.1:{port}/api/paas/v4/chat/completions", json=chat())
    with pytest.raises(LookupError):
        GLMServer().last_request  # noqa: B018


def test_port_in_use(glm_server: GLMServer) -> None:
    with pytest.raises(OSError):  # noqa: PT011 - errno differs by platform
        GLMServer(port=glm_server.port).start()


@pytest.mark.allow_hosts(["127.0.0.1", "127.0.0.2"])
def test_it_listens_on_127_0_0_1_only(glm_server: GLMServer) -> None:
    # 127.0.0.2 is loopback too; only a listener bound to every address would accept there
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", glm_server.port), timeout=5).close()
    with pytest.raises(TypeError, match="host"):
        GLMServer(host="0.0.0.0")  # noqa: S104 - the point of the test


async def test_async_with() -> None:
    async with GLMServer() as server:
        async with aclient(headers=AUTH) as http:
            response = await http.post(server.base_url + "/chat/completions", json=chat("a"))
        assert response.json()["choices"][0]["message"]["content"] == "You said: a"
    assert repr(server) == "GLMServer(stopped)"


async def test_stop_ends_open_streams() -> None:
    server = GLMServer().start()
    server.reply("abcdefgh", chunk_size=1, trickle=30.0)
    async with aclient(headers=AUTH) as http:
        request = chat(stream=True, thinking={"type": "disabled"})
        async with http.stream("POST", server.base_url + "/chat/completions", json=request) as r:
            chunks = r.aiter_raw()
            assert (await anext(chunks)).startswith(b"data: ")
            await asyncio.to_thread(server.stop)
            with pytest.raises(httpx.RemoteProtocolError):
                async for _ in chunks:
                    pass


@pytest.mark.load
async def test_hundreds_of_concurrent_streams(glm_server: GLMServer) -> None:
    glm_server.script(lambda request: Reply("x" * 400, reasoning="y" * 100, chunk_size=8))
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)

    async def one(http: httpx.AsyncClient, n: int) -> int:
        body = chat(f"n{n}", stream=True)
        response = await http.post(glm_server.base_url + "/chat/completions", json=body)
        events = split_events(response.content)
        assert events[-1] == b"[DONE]"
        return len(events)

    async with aclient(headers=AUTH, limits=limits, timeout=30) as http:
        counts = await asyncio.gather(*(one(http, n) for n in range(200)))
    assert counts == [1 + 13 + 50 + 2] * 200
    assert len(glm_server.requests) == 200
    assert len({r.connection_id for r in glm_server.requests}) > 1


async def test_many_frames_in_one_stream(glm_server: GLMServer, mode: str) -> None:
    glm_server.reply("z" * 5000, chunk_size=1)
    result = await post(mode, glm_server, chat(stream=True, thinking={"type": "disabled"}))
    assert len(result.frames) == 5001


def test_fixture_gives_a_fresh_running_server(glm_server: GLMServer) -> None:
    assert glm_server.port > 0
    assert glm_server.requests == []
    assert glm_server.pending == 0


@pytest.mark.glm_server(api_key="only-this")
def test_fixture_marker_configures_the_server(glm_server: GLMServer) -> None:
    url = glm_server.base_url + "/chat/completions"
    with client() as http:
        assert http.post(url, json=chat(), headers=AUTH).status_code == 401
        ok = http.post(url, json=chat(), headers={"Authorization": "Bearer only-this"})
    assert ok.status_code == 200


def test_command_line_server() -> None:
    command = [sys.executable, "-m", "langchain_glm.testing", "--port", "0"]
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(
            r"GLM test server listening on (http://127\.0\.0\.1:\d+/api/paas/v4)\n", line
        )
        assert match, line
        with client() as http:
            response = http.post(
                match.group(1) + "/chat/completions", json=chat("cli"), headers=AUTH
            )
        assert response.json()["choices"][0]["message"]["content"] == "You said: cli"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_command_line_has_no_host_to_choose() -> None:
    command = [sys.executable, "-m", "langchain_glm.testing", "--host", "0.0.0.0"]  # noqa: S104
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 2
    assert "unrecognized arguments: --host" in done.stderr


def test_command_line_auto_mode_calls_tools() -> None:
    command = [sys.executable, "-m", "langchain_glm.testing", "--auto", "--port", "0"]
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        base = process.stdout.readline().split()[-1]
        tool = {
            "type": "function",
            "function": {
                "name": "add",
                "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
            },
        }
        with client() as http:
            called = http.post(
                base + "/chat/completions", json=chat("add 3", tools=[tool]), headers=AUTH
            ).json()["choices"][0]["message"]["tool_calls"][0]["function"]
            json_mode = http.post(
                base + "/chat/completions",
                json=chat("x", response_format={"type": "json_object"}),
                headers=AUTH,
            ).json()["choices"][0]["message"]["content"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    assert (called["name"], json.loads(called["arguments"])) == ("add", {"a": 3})
    assert json.loads(json_mode) == {"answer": "x"}


def test_command_line_port_in_use_is_one_line(glm_server: GLMServer) -> None:
    command = [sys.executable, "-m", "langchain_glm.testing", "--port", str(glm_server.port)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{glm_server.port}: ")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_command_line_help() -> None:
    command = [sys.executable, "-m", "langchain_glm.testing", "--help"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    assert "--auto" in done.stdout
    assert "--port" in done.stdout
