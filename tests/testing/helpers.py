"""Plain-httpx helpers for the server tests (deliberately not ChatGLM)."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from langchain_glm.testing import GLMServer

AUTH = {"Authorization": "Bearer test-key"}
ID_RE = r"^\d{14}[0-9a-f]{16}$"
TLS = ssl.create_default_context()
"""One TLS context for every test client: building one per httpx client costs ~25 ms."""


def client(**kwargs: Any) -> httpx.Client:
    """A sync httpx client (plain HTTP to loopback; the shared TLS context only saves time)."""
    return httpx.Client(verify=TLS, **kwargs)


def aclient(**kwargs: Any) -> httpx.AsyncClient:
    """An async httpx client."""
    return httpx.AsyncClient(verify=TLS, **kwargs)


def chat(content: Any = "hello", **extra: Any) -> dict[str, Any]:
    """A minimal valid request body."""
    return {"model": "glm-4.6", "messages": [{"role": "user", "content": content}], **extra}


def split_events(body: bytes) -> list[bytes]:
    """Split an SSE body strictly: every event is exactly one ``data: `` line plus a blank line."""
    assert body.endswith(b"\n\n"), body[-40:]
    events = body[:-2].split(b"\n\n")
    for event in events:
        assert event.startswith(b"data: "), event[:40]
        assert b"\n" not in event, event[:40]
    return [event[len(b"data: ") :] for event in events]


@dataclass
class Result:
    """A finished HTTP exchange."""

    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def events(self) -> list[bytes]:
        return split_events(self.body)

    @property
    def frames(self) -> list[dict[str, Any]]:
        """Decoded JSON frames, without the final ``[DONE]`` (which must be there)."""
        events = self.events
        assert events[-1] == b"[DONE]"
        return [json.loads(e) for e in events[:-1]]


async def post(
    mode: str,
    server: GLMServer,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    path: str = "/chat/completions",
    content: bytes | None = None,
    method: str = "POST",
) -> Result:
    """Send one request with a sync or an async httpx client."""
    url = server.base_url + path
    hdrs = AUTH if headers is None else headers
    kwargs: dict[str, Any] = {"headers": hdrs}
    if content is not None:
        kwargs["content"] = content
    elif body is not None:
        kwargs["json"] = body
    if mode == "sync":
        with client() as sync_client:
            response = sync_client.request(method, url, **kwargs)
    else:
        async with aclient() as async_client:
            response = await async_client.request(method, url, **kwargs)
    return Result(response.status_code, response.headers, response.content)


def deltas(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``delta`` of every frame."""
    return [f["choices"][0]["delta"] for f in frames]


def joined(frames: list[dict[str, Any]], key: str) -> str:
    """Concatenate one delta field over a stream."""
    return "".join(d.get(key, "") for d in deltas(frames))
