"""Server text in exception messages, from a raw-socket server: every control shown escaped.

Exceptions reach terminals and logs. A server (or a proxy in front of it) that puts ESC
sequences (clear screen, OSC 8 hyperlinks, colours), a bell, a newline that forges a log line,
C1 controls, bidi overrides or lone surrogates into an error body, an error frame, a redirect or
a batch result line must see them printed as visible escapes (`\\x1b`, `\\u202e`), never acted on.
The oracle is the standard library's `str.isprintable`, not our escaping.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from langchain_glm import ChatGLM
from langchain_glm._errors import GLMError
from tests.hostile import batch_server as b
from tests.hostile import server as s
from tests.hostile.server import HostileServer
from tests.hostile.test_batch import done_job, results

HOSTILE = (
    "x\x1b[2J\x1b]8;;http://evil.example\x07link\x1b]8;;\x07\nINFO forged \u202egnp.exe\x85\x00"
)
"""Clear screen, an OSC 8 hyperlink, a bell, a forged log line, a bidi override, C1 NEL, NUL."""


@pytest.fixture
def routes(hostile: HostileServer) -> b.Routes:
    table = b.Routes()
    hostile.default = table
    return table


def model(server: HostileServer) -> ChatGLM:
    return ChatGLM(model="glm-4.6", base_url=server.base_url, api_key="text-key-0123456789",
                   timeout=5.0, max_retries=0)  # fmt: skip


def shown(error: BaseException) -> list[str]:
    """Everything of an error that gets printed or logged."""
    texts = [str(error), repr(error)]
    if isinstance(error, GLMError):
        texts += [error.message, error.code or "", error.request_id or ""]
    return texts


def assert_safe(error: BaseException) -> None:
    for text in shown(error):
        unsafe = [c for c in text if not c.isprintable()]
        assert not unsafe, f"unescaped {unsafe!r} in {text!r}"
    assert "\\x1b[2J" in str(error)  # escaped visibly, not dropped


def call(llm: ChatGLM, mode: str, *, stream: bool = False) -> None:
    """One invoke (or stream), sync or async."""

    async def consume() -> None:
        async for _ in llm.astream("x"):
            pass

    if mode == "sync":
        _ = list(llm.stream("x")) if stream else llm.invoke("x")
    else:
        asyncio.run(asyncio.wait_for(consume() if stream else llm.ainvoke("x"), 60))


def invoke_error(llm: ChatGLM, mode: str, *, stream: bool = False) -> BaseException:
    with pytest.raises(GLMError) as raised:
        call(llm, mode, stream=stream)
    return raised.value


def test_a_json_error_body(hostile: HostileServer, mode: str) -> None:
    body = {"error": {"code": f"1214{HOSTILE}", "message": HOSTILE}, "request_id": HOSTILE}
    raw = json.dumps(body).replace("gnp", "\\ud800gnp").encode()  # a lone surrogate too
    hostile.script(s.body(400, raw))
    error = invoke_error(model(hostile), mode)
    assert_safe(error)
    assert isinstance(error, GLMError)
    assert "\\n" in error.message
    assert "\\ud800" in error.message
    assert "\\u202e" in str(error.request_id)


def test_an_html_error_page(hostile: HostileServer, mode: str) -> None:
    page = f"<html><body><h1>{HOSTILE}</h1>\xc2\x9b31m</body></html>".encode()
    hostile.script(s.body(502, page, "text/html"))
    assert_safe(invoke_error(model(hostile), mode))


def test_a_redirect_location(hostile: HostileServer, mode: str) -> None:
    async def play(w: s.Writer, raw: bytes) -> bool:
        where = "http://e.example/\u202egnp.exe\x85".encode()
        w.write(b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\nLocation: " + where + b"\r\n\r\n")
        await w.drain()
        return True

    hostile.script(play)
    error = invoke_error(model(hostile), mode)
    assert all(c.isprintable() for text in shown(error) for c in text)
    assert "\\u202egnp.exe" in str(error)


def test_an_error_frame_in_a_stream(hostile: HostileServer, mode: str) -> None:
    frame = {"error": {"code": "1301", "message": HOSTILE}}
    hostile.script(s.stream(s.sse_body([frame], done=False)))
    assert_safe(invoke_error(model(hostile), mode, stream=True))


def test_batch_result_lines_and_failure_reasons(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    job = done_job(routes, model(hostile), mode, err="file_err")
    stranger = f"lcg-{b.TOKEN}-000001\x1b[2J"
    content = b.jsonl(
        b.line(b.cid(0)),
        b.failed(b.cid(1), code=f"1302{HOSTILE}"),
        b.line(b.cid(2), {"error": {"code": "1214", "message": HOSTILE}}, 400),
        b.line(stranger, {"error": {"code": "1214", "message": HOSTILE}}, 400),
        f'{{"custom_id": "{b.cid(9)}", "junk": "{HOSTILE[:5]}'.encode(),
    )
    routes.on("GET files/file_out/content", s.body(200, b.jsonl(b.line(b.cid(0)))))
    routes.on("GET files/file_err/content", s.body(200, content))
    items: list[Any] = results(job, mode, keep_files=True)
    errors = [i for i in items[1:] if isinstance(i, GLMError)] + list(job.unmatched)
    assert len(errors) == 4  # two failed lines, the stranger and the unreadable line
    for error in errors:
        assert all(c.isprintable() for text in shown(error) for c in text), shown(error)
    assert "\\x1b[2J" in str(items[2])


def test_a_batch_that_failed_validation(
    hostile: HostileServer, routes: b.Routes, mode: str
) -> None:
    reason = {"object": "list", "data": [{"code": "1210", "message": HOSTILE, "line": 1}]}
    routes.on("GET batches/batch_1", b.batch(status="failed", out=None, errors=reason))
    job = done_job(routes, model(hostile), mode)
    items = results(job, mode, keep_files=True)
    assert len(items) == 3
    for item in items:
        assert isinstance(item, GLMError)
        assert_safe(item)
