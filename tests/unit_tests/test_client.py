"""GLMClient over httpx.MockTransport; every scenario runs through the sync and the async path."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from langchain_glm._client import GLMClient, decode_frame
from langchain_glm._errors import (
    GLMAPIError,
    GLMAuthenticationError,
    GLMConnectionError,
    GLMError,
    GLMQuotaExceededError,
    GLMRateLimitError,
    GLMTimeoutError,
)
from langchain_glm._retry import RetryPolicy
from langchain_glm._version import __version__

API_KEY = "sk-unit-test.very-secret-value"
BASE_URL = "https://glm.test/api/paas/v4/"
FAST = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.002)
PAYLOAD: dict[str, Any] = {"model": "glm-4.6", "messages": [{"role": "user", "content": "你好"}]}
REPLY: dict[str, Any] = {"id": "r1", "choices": [{"index": 0, "message": {"content": "hi"}}]}
Handler = Callable[[httpx.Request], httpx.Response]


def chunk(content: str, finish: str | None = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "delta": {"role": "assistant", "content": content}}
    if finish:
        choice["finish_reason"] = finish
    return {"id": "s1", "choices": [choice]}


def data(obj: object) -> str:
    return "data: " + json.dumps(obj, ensure_ascii=False)


def sse(*events: str) -> bytes:
    return "".join(event + "\n\n" for event in events).encode()


FRAMES = [chunk("Hel"), chunk("lo"), chunk("", finish="stop")]
STREAM = sse(*(data(frame) for frame in FRAMES), "data: [DONE]")


def stream_response(content: bytes | httpx.SyncByteStream) -> httpx.Response:
    headers = {"content-type": "text/event-stream;charset=UTF-8"}
    if isinstance(content, bytes):
        return httpx.Response(200, headers=headers, content=content)
    return httpx.Response(200, headers=headers, stream=content)


def error_response(status: int, code: str, **headers: str) -> httpx.Response:
    body = {"error": {"code": code, "message": f"error {code}"}}
    return httpx.Response(status, json=body, headers=headers)


def replies(*responses: httpx.Response | Exception) -> Handler:
    """Handler answering each request with the next response, or raising the next exception."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


class BrokenStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Response body that yields some bytes, then fails like a reset connection."""

    def __init__(self, head: bytes) -> None:
        self.head = head

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        raise httpx.ReadError("connection reset by peer")


class Harness:
    """A GLMClient on a MockTransport, driven through either the sync or the async twins."""

    def __init__(self, mode: str, handler: Handler, **kwargs: Any) -> None:
        self.mode = mode
        self.requests: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        transport = httpx.MockTransport(record)
        self.http = httpx.Client(transport=transport)
        self.ahttp = httpx.AsyncClient(transport=transport)
        injected = (
            {"http_client": self.http} if mode == "sync" else {"http_async_client": self.ahttp}
        )
        options: dict[str, Any] = {"base_url": BASE_URL, "api_key": API_KEY, "retry_policy": FAST}
        self.client = GLMClient(**{**options, **injected, **kwargs})

    def post(self, payload: dict[str, Any] = PAYLOAD) -> dict[str, Any]:
        if self.mode == "sync":
            return self.client.post(payload)
        return asyncio.run(self.client.apost(payload))

    def stream(
        self, payload: dict[str, Any] = PAYLOAD
    ) -> tuple[list[dict[str, Any]], GLMError | None]:
        """Collect frames until the end or the first GLMError, which is returned, not raised."""
        frames: list[dict[str, Any]] = []  # appended one by one: kept when an error follows

        def consume() -> None:
            for frame in self.client.stream(payload):
                frames.append(frame)  # noqa: PERF402

        async def aconsume() -> None:
            async for frame in self.client.astream(payload):
                frames.append(frame)  # noqa: PERF401

        try:
            if self.mode == "sync":
                consume()
            else:
                asyncio.run(aconsume())
        except GLMError as error:
            return frames, error
        return frames, None

    def close(self) -> None:
        self.http.close()
        asyncio.run(self.ahttp.aclose())


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def factory(handler: Handler, **kwargs: Any) -> Harness:
        made.append(Harness(request.param, handler, **kwargs))
        return made[-1]

    yield factory
    for harness in made:
        harness.close()


def test_request_shape(make: Callable[..., Harness]) -> None:
    h = make(replies(httpx.Response(200, json=REPLY)), default_headers={"X-Extra": "1"})
    payload = {**PAYLOAD, "stream": False}
    snapshot = json.dumps(payload)
    assert h.post(payload) == REPLY
    (request,) = h.requests
    assert request.method == "POST"
    assert str(request.url) == "https://glm.test/api/paas/v4/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == f"langchain-glm/{__version__}"
    assert request.headers["X-Extra"] == "1"
    assert request.content == json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )
    assert "你好".encode() in request.content
    assert json.dumps(payload) == snapshot  # payload not mutated


def test_timeout_is_sent_with_each_request(make: Callable[..., Harness]) -> None:
    h = make(replies(httpx.Response(200, json=REPLY)), timeout=httpx.Timeout(5.0, connect=2.0))
    h.post()
    assert h.requests[0].extensions["timeout"] == {
        "connect": 2.0,
        "read": 5.0,
        "write": 5.0,
        "pool": 5.0,
    }


def test_stream_request_accepts_event_stream(make: Callable[..., Harness]) -> None:
    h = make(replies(stream_response(STREAM)))
    h.stream({**PAYLOAD, "stream": True})
    assert h.requests[0].headers["Accept"] == "text/event-stream"
    assert json.loads(h.requests[0].content)["stream"] is True


def test_rate_limit_then_success_honours_retry_after(
    make: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    h = make(
        replies(
            error_response(429, "1302", **{"Retry-After": "0.01"}), httpx.Response(200, json=REPLY)
        )
    )
    with caplog.at_level(logging.DEBUG, logger="langchain_glm"):
        assert h.post() == REPLY
    assert len(h.requests) == 2
    assert "retry 1 in 0.010s" in caplog.text


def test_quota_429_is_not_retried(make: Callable[..., Harness]) -> None:
    h = make(replies(error_response(429, "1113"), httpx.Response(200, json=REPLY)))
    with pytest.raises(GLMQuotaExceededError) as info:
        h.post()
    assert len(h.requests) == 1
    assert info.value.code == "1113"
    assert info.value.status_code == 429


def test_server_error_then_success(make: Callable[..., Harness]) -> None:
    h = make(replies(error_response(500, "500"), httpx.Response(200, json=REPLY)))
    assert h.post() == REPLY
    assert len(h.requests) == 2


def test_connect_error_then_success(make: Callable[..., Harness]) -> None:
    h = make(replies(httpx.ConnectError("connection refused"), httpx.Response(200, json=REPLY)))
    assert h.post() == REPLY
    assert len(h.requests) == 2


def test_timeout_exhausts_retries(make: Callable[..., Harness]) -> None:
    h = make(replies(httpx.ReadTimeout("timed out")))
    with pytest.raises(GLMTimeoutError) as info:
        h.post()
    assert len(h.requests) == 3  # first attempt + FAST.max_retries
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


def test_max_retries_zero_sends_once(make: Callable[..., Harness]) -> None:
    h = make(
        replies(error_response(500, "500"), httpx.Response(200, json=REPLY)),
        retry_policy=None,
        max_retries=0,
    )
    with pytest.raises(GLMAPIError):
        h.post()
    assert len(h.requests) == 1


def test_non_json_success_body(make: Callable[..., Harness]) -> None:
    h = make(replies(httpx.Response(200, text="<html>maintenance</html>")))
    with pytest.raises(GLMAPIError, match="not a JSON object: maintenance"):
        h.post()
    assert len(h.requests) == 1


def test_error_object_in_success_body(make: Callable[..., Harness]) -> None:
    h = make(replies(httpx.Response(200, json={"error": {"code": "1302", "message": "busy"}})))
    with pytest.raises(GLMRateLimitError, match="1302"):
        h.post()


def test_body_read_failure_is_not_resent(make: Callable[..., Harness]) -> None:
    h = make(replies(httpx.Response(200, stream=BrokenStream(b'{"id":'))))
    with pytest.raises(GLMConnectionError, match="ReadError"):
        h.post()
    assert len(h.requests) == 1


def test_stream_frames_until_done(make: Callable[..., Harness]) -> None:
    after_done = sse(data(chunk("ignored")))
    h = make(replies(stream_response(STREAM + after_done)))
    frames, error = h.stream()
    assert error is None
    assert frames == FRAMES


def test_stream_error_status_is_mapped_and_retried(make: Callable[..., Harness]) -> None:
    h = make(replies(error_response(429, "1302"), stream_response(STREAM)))
    frames, error = h.stream()
    assert error is None
    assert frames == FRAMES
    assert len(h.requests) == 2


def test_stream_error_status_not_retryable(make: Callable[..., Harness]) -> None:
    h = make(replies(error_response(401, "1002"), stream_response(STREAM)))
    frames, error = h.stream()
    assert isinstance(error, GLMAuthenticationError)
    assert error.code == "1002"
    assert frames == []
    assert len(h.requests) == 1


@pytest.mark.parametrize(
    "error_event",
    [
        data({"error": {"code": "1302", "message": "busy"}, "request_id": "r9"}),
        "event: error\n" + data({"error": {"code": "1302", "message": "busy"}, "request_id": "r9"}),
    ],
)
def test_in_stream_error_raises_after_frames_and_is_not_resent(
    make: Callable[..., Harness], error_event: str
) -> None:
    body = sse(data(FRAMES[0]), data(FRAMES[1]), error_event, "data: [DONE]")
    h = make(replies(stream_response(body)))
    frames, error = h.stream()
    assert frames == FRAMES[:2]
    assert isinstance(error, GLMRateLimitError)
    assert error.is_retryable  # retryable in principle, yet never re-sent mid-stream
    assert error.request_id == "r9"
    assert len(h.requests) == 1


def test_malformed_frame(make: Callable[..., Harness]) -> None:
    body = sse(data(FRAMES[0]), 'data: {"id":"s1","choices":[{"delta"data: {"id"', "data: [DONE]")
    h = make(replies(stream_response(body)))
    frames, error = h.stream()
    assert frames == FRAMES[:1]
    assert isinstance(error, GLMAPIError)
    assert str(error).startswith('GLM error: malformed stream frame: {"id":"s1"')
    assert len(h.requests) == 1


def test_stream_cut_without_done_or_finish_reason(make: Callable[..., Harness]) -> None:
    h = make(replies(stream_response(sse(data(FRAMES[0]), data(FRAMES[1])))))
    frames, error = h.stream()
    assert frames == FRAMES[:2]
    assert isinstance(error, GLMConnectionError)
    assert "after 2 frames without [DONE]" in str(error)
    assert len(h.requests) == 1


@pytest.mark.parametrize(
    "tail", [[], [{"id": "s1", "choices": [], "usage": {"total_tokens": 3}}]], ids=["last", "usage"]
)
def test_stream_without_done_but_with_finish_reason_is_complete(
    make: Callable[..., Harness], tail: list[dict[str, Any]]
) -> None:
    h = make(replies(stream_response(sse(*(data(frame) for frame in FRAMES + tail)))))
    frames, error = h.stream()
    assert error is None
    assert frames == FRAMES + tail


def test_stream_transport_error_mid_stream(make: Callable[..., Harness]) -> None:
    h = make(replies(stream_response(BrokenStream(sse(data(FRAMES[0]))))))
    frames, error = h.stream()
    assert frames == FRAMES[:1]
    assert isinstance(error, GLMConnectionError)
    assert isinstance(error.__cause__, httpx.ReadError)
    assert len(h.requests) == 1


def test_stream_with_wrong_content_type(make: Callable[..., Harness]) -> None:
    h = make(replies(httpx.Response(200, json=REPLY)))
    frames, error = h.stream()
    assert frames == []
    assert isinstance(error, GLMAPIError)
    assert "text/event-stream" in str(error)


@pytest.mark.parametrize("api_key", [None, "", "   "])
def test_missing_api_key_sends_nothing(make: Callable[..., Harness], api_key: str | None) -> None:
    h = make(replies(httpx.Response(200, json=REPLY)), api_key=api_key)
    with pytest.raises(GLMAuthenticationError, match="ZAI_API_KEY"):
        h.post()
    frames, error = h.stream()
    assert isinstance(error, GLMAuthenticationError)
    assert frames == []
    assert h.requests == []


def test_api_key_is_stripped(make: Callable[..., Harness]) -> None:
    h = make(replies(httpx.Response(200, json=REPLY)), api_key=f" {API_KEY}\n")
    h.post()
    assert h.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"


def test_jwt_auth_header(make: Callable[..., Harness]) -> None:
    h = make(replies(httpx.Response(200, json=REPLY)), jwt_auth=True)
    h.post()
    scheme, token = h.requests[0].headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    signing_input, _, signature = token.rpartition(".")
    claims = signing_input.split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["api_key"] == (
        "sk-unit-test"
    )
    digest = hmac.new(b"very-secret-value", signing_input.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == signature


def test_injected_clients_are_not_closed(make: Callable[..., Harness]) -> None:
    h = make(replies(error_response(400, "1214"), httpx.Response(200, json=REPLY)))
    with pytest.raises(GLMError):
        h.post()
    h.stream()
    assert not h.http.is_closed
    assert not h.ahttp.is_closed


def test_secret_never_in_errors_logs_or_repr(
    make: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    h = make(
        replies(
            error_response(429, "1302"), httpx.ConnectError("refused"), error_response(401, "1002")
        )
    )
    with caplog.at_level(logging.DEBUG, logger="langchain_glm"), pytest.raises(GLMError) as info:
        h.post()
    assert len(h.requests) == 3
    assert "Bearer" not in caplog.text
    texts = [caplog.text, str(info.value), repr(info.value), repr(h.client)]
    assert not any("very-secret" in text for text in texts)


def test_shared_pool_per_config() -> None:
    one = GLMClient(base_url=BASE_URL, api_key=API_KEY, timeout=33.0)
    two = GLMClient(base_url="https://other.test", api_key="other", timeout=33.0)
    other = GLMClient(base_url=BASE_URL, api_key=API_KEY, timeout=34.0)
    assert one.sync_http_client() is two.sync_http_client()
    assert one.sync_http_client() is not other.sync_http_client()


def test_shared_async_pool_per_event_loop() -> None:
    one = GLMClient(base_url=BASE_URL, api_key=API_KEY, timeout=33.0)
    two = GLMClient(base_url=BASE_URL, api_key="other", timeout=33.0)

    async def pools() -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        return one.async_http_client(), two.async_http_client()

    first_a, first_b = asyncio.run(pools())
    second_a, _ = asyncio.run(pools())
    assert first_a is first_b
    assert second_a is not first_a


@pytest.mark.parametrize(
    ("event", "data_", "expected"),
    [
        ("message", "[DONE]", None),
        ("message", ' {"a": 1}', {"a": 1}),
        ("message", '{"error": null, "a": 1}', {"error": None, "a": 1}),
    ],
)
def test_decode_frame(event: str, data_: str, expected: dict[str, Any] | None) -> None:
    assert decode_frame(event, data_) == expected


@pytest.mark.parametrize("data_", ["[1, 2]", "not json", ""])
def test_decode_frame_rejects_non_objects(data_: str) -> None:
    with pytest.raises(GLMAPIError, match="malformed stream frame"):
        decode_frame("message", data_)
