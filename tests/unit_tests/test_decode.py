"""The pure decoder: SSE bytes to frames under any split, caps, the event budget, frame checks."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from langchain_glm._decode import (
    LINE_CAP,
    Deadline,
    SSEReader,
    chat_reply,
)
from langchain_glm._errors import (
    GLMAPIError,
    GLMConnectionError,
    GLMRateLimitError,
    GLMTimeoutError,
)

FRAMES = [{"id": "s1", "choices": [{"index": 0, "delta": {"content": t}}]} for t in ("你", "好")]
FRAMES.append({"id": "s1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
WIRE = "".join(f"data: {json.dumps(f, ensure_ascii=False)}\n\n" for f in FRAMES).encode()
WIRE = b": ping\n\nevent: message\n" + WIRE + b"data: [DONE]\n\n"


def read_all(
    pieces: list[bytes], budget: float | None = None
) -> tuple[list[dict[str, Any]], SSEReader]:
    reader = SSEReader(Deadline(budget, "stream event"))
    frames: list[dict[str, Any]] = []
    for piece in pieces:
        reader.feed(piece)
        frames.extend(reader.frames)
        reader.frames.clear()
        if reader.failure or reader.done:
            break
    return frames, reader


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_two_way_split_decodes_the_same(newline: bytes) -> None:
    wire = WIRE.replace(b"\n", newline)
    for cut in range(len(wire) + 1):
        frames, reader = read_all([wire[:cut], wire[cut:]])
        assert frames == FRAMES, cut
        assert reader.done
        assert reader.failure is None


def test_one_byte_at_a_time() -> None:
    frames, reader = read_all([WIRE[i : i + 1] for i in range(len(WIRE))])
    assert frames == FRAMES
    assert reader.count == 3
    assert reader.finished


def test_multi_line_data_is_joined_and_other_fields_ignored() -> None:
    frames, _ = read_all([b'id: 7\nretry: 10\ndata: {"a":\ndata: 1}\n\n'])
    assert frames == [{"a": 1}]


def test_frames_before_a_failure_are_kept() -> None:
    wire = (
        WIRE.split(b"data: [DONE]")[0] + b'data: {"error": {"code": "1302", "message": "busy"}}\n\n'
    )
    frames, reader = read_all([wire])
    assert frames == FRAMES
    assert isinstance(reader.failure, GLMRateLimitError)


def test_done_only_is_an_empty_stream() -> None:
    _, reader = read_all([b": ping\n\ndata: [DONE]\n\n"])
    assert isinstance(reader.failure, GLMAPIError)
    assert reader.failure.is_retryable


def test_a_line_over_the_cap_fails_without_a_newline() -> None:
    frames, reader = read_all([b"data: " + b"x" * (LINE_CAP + 1)])
    assert frames == []
    assert isinstance(reader.failure, GLMAPIError)
    assert not reader.failure.is_retryable


def test_an_event_over_the_cap_fails_even_in_short_lines() -> None:
    line = b"data: " + b"x" * 1000 + b"\n"
    _, reader = read_all([line * (LINE_CAP // 1000 + 2)])
    assert isinstance(reader.failure, GLMAPIError)
    assert "event is longer" in str(reader.failure)


def test_comments_do_not_restart_the_event_budget() -> None:
    reader = SSEReader(Deadline(0.05, "stream event"))
    time.sleep(0.06)  # the budget is spent; a comment must not count as an event
    reader.feed(b": ping\n\n")
    assert isinstance(reader.failure, GLMTimeoutError)
    assert not reader.failure.is_retryable


def test_an_event_restarts_the_event_budget() -> None:
    reader = SSEReader(Deadline(60.0, "stream event"))
    before = reader.deadline.ends
    reader.feed(b'data: {"a": 1}\n\n')
    assert reader.deadline.ends is not None
    assert before is not None
    assert reader.deadline.ends >= before
    assert reader.failure is None


def test_end_without_done_or_finish_is_a_cut_connection() -> None:
    reader = SSEReader(Deadline(None, "stream event"))
    reader.feed(b'data: {"a": 1}\n\n')
    with pytest.raises(GLMConnectionError, match="after 1 frames without"):
        reader.end()


def dispatch(event: str, data: str) -> SSEReader:
    """A reader that was fed one event (after one normal frame, so `[DONE]` is not empty)."""
    reader = SSEReader(Deadline(None, "stream event"))
    reader.feed(b'data: {"first": 1}\n\n')
    reader.frames.clear()
    head = f"event: {event}\n" if event != "message" else ""
    reader.feed(f"{head}data:{data}\n\n".encode())
    return reader


@pytest.mark.parametrize(
    ("event", "data_", "expected"),
    [
        ("message", "[DONE]", None),
        ("message", " [DONE] ", None),
        ("message", ' {"a": 1}', {"a": 1}),
        ("message", '{"error": null, "a": 1}', {"error": None, "a": 1}),
    ],
)
def test_an_event_decodes_to_a_frame_or_the_end(
    event: str, data_: str, expected: dict[str, Any] | None
) -> None:
    reader = dispatch(event, data_)
    assert reader.failure is None
    assert reader.done is (expected is None)
    assert list(reader.frames) == ([] if expected is None else [expected])


@pytest.mark.parametrize("data_", ["[1, 2]", "not json", ""])
def test_an_event_that_is_not_an_object_is_malformed(data_: str) -> None:
    with pytest.raises(GLMAPIError, match="malformed response: stream frame"):
        raise_failure(dispatch("message", data_))


def test_an_error_event_is_the_mapped_error() -> None:
    data = json.dumps({"error": {"code": "1302", "message": "High concurrency"}})
    with pytest.raises(GLMRateLimitError):
        raise_failure(dispatch("error", data))


def test_network_error_frame_is_a_retryable_api_error() -> None:
    frame = {"choices": [{"index": 0, "delta": {}, "finish_reason": "network_error"}]}
    with pytest.raises(GLMAPIError, match="network_error") as info:
        raise_failure(dispatch("message", json.dumps(frame)))
    assert info.value.is_retryable


def raise_failure(reader: SSEReader) -> None:
    assert reader.failure is not None
    raise reader.failure


@pytest.mark.parametrize("body", [{}, {"choices": None}, {"choices": {}}, {"choices": []}])
def test_chat_reply_needs_a_choice(body: dict[str, Any]) -> None:
    with pytest.raises(GLMAPIError, match="without any choice") as info:
        chat_reply(body)
    assert info.value.is_retryable
