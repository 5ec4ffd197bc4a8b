"""Pure decoding of what GLM sends: SSE bytes to frame dicts, bodies to JSON objects.

No I/O here (`_client` feeds the bytes it reads). The reader caps every line and event, bounds
the wait for the next event with a `Deadline`, and applies the checks that turn a broken answer
into a typed error: an error frame, `finish_reason: "network_error"` (GLM's "inference failed"),
an empty stream, a reply without a choice. Invalid UTF-8 becomes U+FFFD, in streams and bodies.

SSE: https://html.spec.whatwg.org/multipage/server-sent-events.html ; GLM's stream format:
https://docs.z.ai/api-reference/llm/chat-completion
"""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Mapping
from typing import Any

from langchain_glm._errors import (
    GLMAPIError,
    GLMConnectionError,
    GLMError,
    GLMTimeoutError,
    error_from_payload,
    excerpt,
    inference_failed,
    malformed,
)

_loads = json.JSONDecoder().decode
LINE_CAP = 4 * 1024 * 1024
"""Largest single SSE line, and largest event, accepted."""
DRAIN_CAP = 64 * 1024
"""After `[DONE]`, at most this much is read to reach the end so the connection is reused."""


class Deadline:
    """A time budget that can be restarted (per stream event) and checked (per chunk read)."""

    def __init__(self, seconds: float | None, what: str) -> None:
        self.seconds = seconds
        self.what = what
        self.restart()

    def restart(self) -> None:
        """Start the budget again from now."""
        self.ends = None if self.seconds is None else time.monotonic() + self.seconds

    def check(self) -> None:
        """Raise `GLMTimeoutError` once the budget is spent (never retried: GLM may be busy)."""
        if self.ends is not None and time.monotonic() > self.ends:
            msg = f"no {self.what} within the {self.seconds:g} s timeout"
            raise GLMTimeoutError(msg, retryable=False)


def json_object(raw: str | bytes, what: str, status: int | None, event: str = "") -> dict[str, Any]:
    """Decode a JSON object; raise `malformed` if it is not one, the mapped error if it is one.

    Invalid UTF-8 becomes U+FFFD replacement characters, in bodies and streams alike.
    """
    text = _text(raw) if isinstance(raw, bytes) else raw
    try:
        data = _loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise malformed(f"{what} is not a JSON object: {excerpt(text)}", status=status)
    if event == "error" or data.get("error"):
        raise error_from_payload(data, status)
    return data


def _text(raw: bytes) -> str:
    """UTF-8 text, invalid bytes as U+FFFD."""
    return raw.decode("utf-8", errors="replace")


def _split_lines(text: bytes) -> tuple[list[bytes], bytes, bool]:
    """Split bytes on CR, LF or CRLF.

    Returns:
        The complete lines, the incomplete rest, and whether the last line ended in a CR
        whose LF may still come (the next bytes' leading LF is then skipped).
    """
    if b"\r" not in text:  # LF only, as GLM sends
        lines = text.split(b"\n")
        return lines, lines.pop(), False
    lines, start, size = [], 0, len(text)
    while True:
        lf = text.find(b"\n", start)
        cr = text.find(b"\r", start, lf if lf >= 0 else size)
        end = cr if cr >= 0 else lf
        if end < 0:
            return lines, text[start:], False
        lines.append(text[start:end])
        start = end + 1
        if end == cr and start == size:
            return lines, b"", True
        if end == cr and text[start] == 0x0A:
            start += 1


def _finish_reason(reply: Mapping[str, Any]) -> object:
    """`choices[0].finish_reason` of a reply or frame, or None."""
    choices = reply.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    return first.get("finish_reason") if isinstance(first, dict) else None


def chat_reply(body: dict[str, Any]) -> dict[str, Any]:
    """Check a non-stream chat reply: it must hold a choice that did not fail (else retryable)."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        error = malformed(f"a reply without any choice: {excerpt(json.dumps(body))}")
        error.is_retryable = True  # nothing was generated, so re-sending is safe
        raise error
    if _finish_reason(body) == "network_error":
        raise inference_failed()
    return body


class SSEReader:
    """Pure incremental SSE decoder with capped lines: bytes in, frame dicts out.

    Implements https://html.spec.whatwg.org/multipage/server-sent-events.html (lines split on
    CR, LF or CRLF; `:` comments ignored). Lines stay bytes until an event is complete; its
    data is then decoded once (invalid UTF-8 as U+FFFD) and parsed once.

    Attributes:
        frames: Decoded frames not yet handed out.
        count: Frames decoded so far.
        done: Whether `[DONE]` arrived (later bytes are ignored).
        failure: The error that stopped decoding, raised once `frames` is empty.
        finished: Whether a frame carried a finish_reason (the reply is complete without
            `[DONE]`; a usage-only frame may follow the finish frame).
    """

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.frames: collections.deque[dict[str, Any]] = collections.deque()
        self.count = 0
        self.done = self.finished = False
        self._buffer = bytearray()
        self._event = ""
        self._data: list[bytes] = []
        self._size = 0
        self._drained = 0
        self._skip_lf = False
        self.failure: GLMError | None = None

    def feed(self, piece: bytes) -> None:
        """Take the next bytes and decode every complete line.

        A failure (a cap, the time budget, an error or malformed frame) is kept in `failure`
        and decoding stops; frames decoded before it are still handed out first.
        """
        try:
            self._decode(piece)
            self.deadline.check()
        except GLMError as error:
            self.failure = error

    def _decode(self, piece: bytes) -> None:
        """Apply every complete line (CR, LF or CRLF ends one), then the line cap."""
        if self.done:
            return
        if self._skip_lf and piece[:1] == b"\n":  # the LF of a CRLF split across reads
            piece = piece[1:]
        self._skip_lf = False
        if b"\n" not in piece and b"\r" not in piece:  # a line still incomplete: just keep it
            self._buffer += piece
        else:
            text = bytes(self._buffer) + piece if self._buffer else piece
            lines, rest, self._skip_lf = _split_lines(text)
            self._buffer = bytearray(rest)
            for line in lines:
                self._line(line)
                if self.done:
                    self._buffer.clear()
                    return
        if len(self._buffer) > LINE_CAP:
            raise malformed(f"an SSE line is longer than {LINE_CAP // 1048576} MiB")

    def _line(self, line: bytes) -> None:
        """Apply one SSE line; a blank line dispatches the event."""
        if line.startswith(b"data:"):  # the common case first
            value = line[6:] if line[5:6] == b" " else line[5:]
            self._data.append(value)
            self._size += len(value)
            if self._size > LINE_CAP:
                raise malformed(f"an SSE event is longer than {LINE_CAP // 1048576} MiB")
        elif not line:
            if self._data:
                self._dispatch()
            self._event, self._data, self._size = "", [], 0
        elif line.startswith(b"event:"):
            name = line[7:] if line[6:7] == b" " else line[6:]
            self._event = name.decode("utf-8", errors="replace")
        elif line == b"data":  # a field name alone has an empty value
            self._data.append(b"")
        # Comments (":...") and the fields GLM does not use (id, retry) are ignored.

    def _dispatch(self) -> None:
        """Decode one event; restart the per-event time budget."""
        self.deadline.restart()
        data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
        if b"[DONE]" in data and _text(data).strip() == "[DONE]":
            self.done = True
            if not self.count:
                raise GLMAPIError("GLM sent an empty stream (only [DONE])")
            return
        frame = json_object(data, "stream frame", None, self._event)
        finish = _finish_reason(frame)
        if finish == "network_error":
            raise inference_failed()
        self.count += 1
        self.finished |= bool(finish)
        self.frames.append(frame)

    def end(self) -> None:
        """At EOF without `[DONE]`: fine after a finish_reason, else a cut connection."""
        if not self.finished:
            msg = f"stream ended after {self.count} frames without [DONE]"
            raise GLMConnectionError(msg, retryable=False)

    def drained(self, size: int) -> bool:
        """Count bytes read after `[DONE]`; False once reading on is no longer worth it."""
        self._drained += size
        ends = self.deadline.ends
        return self._drained <= DRAIN_CAP and (ends is None or time.monotonic() <= ends)
