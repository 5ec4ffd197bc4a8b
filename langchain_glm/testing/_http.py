"""Just enough HTTP/1.1 for the GLM test server, over asyncio streams.

Reads requests with keep-alive (``Content-Length`` or chunked bodies) and builds response heads
and chunked-transfer frames. Stdlib only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from langchain_glm.testing._replies import RecordedRequest

LAST_CHUNK = b"0\r\n\r\n"
"""Terminator of a chunked response body."""


class HTTPError(Exception):
    """The client sent something that is not a well-formed HTTP/1.1 request."""


def _parse_json(body: bytes) -> Any:
    """Parse a request body leniently.

    Args:
        body: Raw body bytes.

    Returns:
        The JSON value, or ``None`` for an empty or non-JSON body.
    """
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """Read a chunked request body and its trailers.

    Args:
        reader: The connection's reader, positioned after the head.

    Returns:
        The body.

    Raises:
        HTTPError: If a chunk size line is not hexadecimal.
    """
    parts = []
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError as exc:
            raise HTTPError("bad chunk size") from exc
        if size == 0:
            break
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    while await reader.readuntil(b"\r\n") != b"\r\n":
        pass
    return b"".join(parts)


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """Parse a request line and header block.

    Args:
        head: Bytes up to and including the blank line.

    Returns:
        ``(method, target, version, headers)``.

    Raises:
        HTTPError: If the request line or a header line is malformed.
    """
    lines = head.decode("latin-1").split("\r\n")
    request_line = lines[0].split(" ")
    if len(request_line) != 3 or not request_line[2].startswith("HTTP/"):
        raise HTTPError(f"bad request line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HTTPError(f"bad header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    method, target, version = request_line
    return method.upper(), target, version, headers


async def read_request(
    reader: asyncio.StreamReader, connection_id: int
) -> tuple[RecordedRequest, bool] | None:
    """Read one request.

    Args:
        reader: The connection's reader.
        connection_id: Sequence number of the connection, recorded with the request.

    Returns:
        The request and whether the connection may serve another one afterwards (keep-alive),
        or ``None`` when the client closed the connection between requests.

    Raises:
        HTTPError: If the request is malformed.
    """
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise HTTPError("connection closed inside a request head") from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise HTTPError("request head too large") from exc
    method, target, version, headers = _parse_head(head)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        length = headers.get("content-length", "0")
        if not length.isdigit():
            raise HTTPError("bad content-length")
        body = await reader.readexactly(int(length))
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    path, _, query = target.partition("?")
    request = RecordedRequest(
        method=method,
        path=path,
        headers=headers,
        json=_parse_json(body),
        body=body,
        connection_id=connection_id,
        query=query,
    )
    return request, keep_alive


def response_head(status: int, headers: Mapping[str, str], *, keep_alive: bool) -> bytes:
    """Build a response status line and headers.

    Args:
        status: HTTP status.
        headers: Response headers (``Connection`` is added).
        keep_alive: Whether the connection stays open after this response.

    Returns:
        The head, ending with the blank line.
    """
    lines = [f"HTTP/1.1 {status} {reason(status)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Connection: {'keep-alive' if keep_alive else 'close'}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def reason(status: int) -> str:
    """The standard reason phrase of a status.

    Args:
        status: HTTP status.

    Returns:
        The phrase, or ``"Unknown"`` for non-standard statuses (e.g. 434).
    """
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def chunk(data: bytes) -> bytes:
    """Frame bytes as one chunk of a chunked-transfer body.

    Args:
        data: Non-empty payload.

    Returns:
        The framed chunk.
    """
    return b"%x\r\n%s\r\n" % (len(data), data)
