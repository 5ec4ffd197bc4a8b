"""GLMClient over httpx.MockTransport; every scenario runs through the sync and the async path."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from langchain_glm import ChatGLM
from langchain_glm._client import ERROR_BODY_CAP, GLMClient
from langchain_glm._decode import LINE_CAP
from langchain_glm._errors import (
    GLMAPIError,
    GLMAuthenticationError,
    GLMConnectionError,
    GLMError,
    GLMQuotaExceededError,
    GLMRateLimitError,
    GLMTimeoutError,
)
from langchain_glm._retry import RetryPolicy, RetrySchedule, Send, Sleep, Step
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
    assert "retry in 0.01" in caplog.text  # 0.010 s plus up to 25% jitter


def test_retry_after_beyond_the_cap_is_raised_at_once(make: Callable[..., Harness]) -> None:
    h = make(replies(error_response(429, "1302", **{"Retry-After": "3600"})))
    with pytest.raises(GLMRateLimitError) as info:
        h.post()
    assert info.value.retry_after == 3600.0
    assert len(h.requests) == 1


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


@pytest.mark.parametrize(
    "exc",
    [httpx.ReadTimeout("timed out"), httpx.ReadError("reset"), httpx.RemoteProtocolError("eof")],
)
def test_failures_after_sending_are_never_resent(
    make: Callable[..., Harness], exc: httpx.TransportError
) -> None:
    # GLM may be generating (and billing) the answer: never send the request again.
    h = make(replies(exc, httpx.Response(200, json=REPLY)))
    with pytest.raises(GLMError) as info:
        h.post()
    assert len(h.requests) == 1
    assert not info.value.is_retryable
    assert info.value.__cause__ is exc


@pytest.mark.parametrize("exc", [httpx.ConnectTimeout("slow syn"), httpx.PoolTimeout("busy")])
def test_connect_and_pool_timeouts_exhaust_retries(
    make: Callable[..., Harness], exc: httpx.TransportError
) -> None:
    h = make(replies(exc))
    with pytest.raises(GLMTimeoutError) as info:
        h.post()
    assert len(h.requests) == 3  # first attempt + FAST.max_retries
    assert isinstance(info.value.__cause__, type(exc))


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
    with pytest.raises(GLMAPIError, match=r"malformed response: .*not a JSON object: maintenance"):
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
    assert str(error).startswith(
        'GLM error: GLM sent a malformed response: stream frame is not a JSON object: {"id":"s1"'
    )
    assert not error.is_retryable
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


def test_one_shared_pool_whatever_the_timeout() -> None:
    clients = [GLMClient(base_url=BASE_URL, api_key=API_KEY, timeout=t / 7) for t in range(1, 500)]
    clients.append(GLMClient(base_url="https://other.test", api_key="other-key-1234"))
    pools = {id(client.sync_http_client()) for client in clients}
    views = {id(clients[0].with_options(timeout=t).sync_http_client()) for t in range(500)}
    assert len(pools | views) == 1


def test_shared_async_pool_per_event_loop() -> None:
    one = GLMClient(base_url=BASE_URL, api_key=API_KEY, timeout=33.0)
    two = GLMClient(base_url=BASE_URL, api_key="other", timeout=33.0)

    async def pools() -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        return await one.async_http_client(), await two.async_http_client()

    first_a, first_b = asyncio.run(pools())
    second_a, _ = asyncio.run(pools())
    assert first_a is first_b
    assert second_a is not first_a
    # asyncio has no "on loop close" callback: the pool closes through
    # `loop.shutdown_asyncgens()`, which `asyncio.run` calls. Fails if that ever changes.
    assert first_a.is_closed
    assert second_a.is_closed


# ---------------------------------------------------------------- the retry schedule is obeyed


class Replay(RetryPolicy):
    """A policy whose schedule replays recorded steps (whatever the outcomes)."""

    def __init__(self, steps: list[Step], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        object.__setattr__(self, "steps", steps)

    def schedule(self) -> RetrySchedule:
        # Not `yield from` a list: the drivers `send()` outcomes into the schedule.
        for step in self.steps:  # type: ignore[attr-defined]  # noqa: UP028
            yield step


class Waits:
    """Records the waits the drivers make, instead of sleeping."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def policy_output(policy: RetryPolicy, errors: list[GLMError]) -> list[Step]:
    """What the pure schedule says for these failures then a success."""
    schedule, steps = policy.schedule(), []
    step: Step = next(schedule)
    outcomes = iter([*errors, None])
    with contextlib.suppress(StopIteration):
        while True:
            steps.append(step)
            step = next(schedule) if isinstance(step, Sleep) else schedule.send(next(outcomes))
    return steps


def assert_waits(h: Harness, waits: Waits, expected: list[Step]) -> None:
    assert h.post() == REPLY
    assert waits.slept == [step.seconds for step in expected if isinstance(step, Sleep)]
    assert len(h.requests) == sum(isinstance(step, Send) for step in expected)


def test_drivers_wait_exactly_what_the_plan_says(make: Callable[..., Harness]) -> None:
    waits = Waits()
    policy = RetryPolicy(rand=lambda: 0.5, sleep=waits.sleep, asleep=waits.asleep)
    failures = [error_response(429, "1302", **{"Retry-After": "2"}), error_response(503, "500")]
    errors = [GLMRateLimitError("busy", retry_after=2.0), GLMAPIError("down")]
    expected = policy_output(policy, errors)
    assert expected == [Send(0), Sleep(2.25), Send(1), Sleep(0.875), Send(2)]
    assert_waits(
        make(replies(*failures, httpx.Response(200, json=REPLY)), retry_policy=policy),
        waits,
        expected,
    )
    # The same check fails when the sleep is deleted from a copy of the schedule's output: the
    # drivers then do not wait, so the wait itself is what this test asserts.
    mutated = [step for step in expected if not isinstance(step, Sleep) or step.seconds != 2.25]
    waits_m = Waits()
    replay = Replay(mutated, sleep=waits_m.sleep, asleep=waits_m.asleep)
    h = make(replies(*failures, httpx.Response(200, json=REPLY)), retry_policy=replay)
    with pytest.raises(AssertionError):
        assert_waits(h, waits_m, expected)
    assert waits_m.slept == [0.875]


# ---------------------------------------------------------------- broken answers


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"id": "r1"},
        {"id": "r1", "choices": []},
        {"choices": [{"finish_reason": "network_error", "message": {}}]},
    ],
    ids=["empty", "no-choices", "choices-empty", "network_error"],
)
def test_broken_non_stream_answers_are_retried_then_raised(
    make: Callable[..., Harness], body: dict[str, Any]
) -> None:
    h = make(replies(httpx.Response(200, json=body), httpx.Response(200, json=REPLY)))
    assert h.post() == REPLY
    assert len(h.requests) == 2
    h = make(replies(httpx.Response(200, json=body)))
    with pytest.raises(GLMAPIError) as info:
        h.post()
    assert info.value.is_retryable
    assert len(h.requests) == 3


def test_other_endpoints_are_not_checked_for_choices(make: Callable[..., Harness]) -> None:
    h = make(replies(httpx.Response(200, json={"usage": {"prompt_tokens": 3}})))
    client = h.client
    if h.mode == "sync":
        assert client.post({"x": 1}, path="tokenizer") == {"usage": {"prompt_tokens": 3}}
    else:
        assert asyncio.run(client.apost({"x": 1}, path="tokenizer")) == {
            "usage": {"prompt_tokens": 3}
        }


NETWORK_ERROR = {
    "id": "s1",
    "choices": [{"index": 0, "delta": {}, "finish_reason": "network_error"}],
}


def test_stream_of_only_done_is_retried_then_an_api_error(make: Callable[..., Harness]) -> None:
    h = make(replies(stream_response(sse("data: [DONE]"))))
    frames, error = h.stream()
    assert frames == []
    assert isinstance(error, GLMAPIError)
    assert "empty stream" in str(error)
    assert len(h.requests) == 3


@pytest.mark.parametrize(
    "early",
    [
        data({"error": {"code": "1302", "message": "busy"}}),
        data(NETWORK_ERROR),
        "data: [DONE]",
    ],
    ids=["error-frame", "network_error", "done-only"],
)
def test_stream_failure_before_any_frame_is_retried(
    make: Callable[..., Harness], early: str
) -> None:
    h = make(replies(stream_response(sse(": ping", early)), stream_response(STREAM)))
    frames, error = h.stream()
    assert error is None
    assert frames == FRAMES
    assert len(h.requests) == 2


def test_network_error_after_frames_raises_a_retryable_error_and_keeps_them(
    make: Callable[..., Harness],
) -> None:
    h = make(replies(stream_response(sse(data(FRAMES[0]), data(NETWORK_ERROR), "data: [DONE]"))))
    frames, error = h.stream()
    assert frames == FRAMES[:1]
    assert isinstance(error, GLMAPIError)
    assert error.is_retryable
    assert "network_error" in str(error)
    assert len(h.requests) == 1


# ---------------------------------------------------------------- malformed bodies


def test_corrupt_gzip_body_is_a_malformed_response(make: Callable[..., Harness]) -> None:
    corrupt = gzip.compress(json.dumps(REPLY).encode())[:12] + b"garbage!" * 8
    gz = {"content-encoding": "gzip"}
    h = make(replies(httpx.Response(200, stream=httpx.ByteStream(corrupt), headers=gz)))
    with pytest.raises(GLMAPIError, match="GLM sent a malformed response: undecodable") as info:
        h.post()
    assert not info.value.is_retryable
    assert len(h.requests) == 1


def test_valid_gzip_body_is_read(make: Callable[..., Harness]) -> None:
    body = gzip.compress(json.dumps(REPLY).encode())
    gz = {"content-encoding": "gzip"}
    h = make(replies(httpx.Response(200, stream=httpx.ByteStream(body), headers=gz)))
    assert h.post() == REPLY


def test_invalid_utf8_is_replaced_alike_in_body_and_stream(make: Callable[..., Harness]) -> None:
    raw = b'{"id":"r1","choices":[{"index":0,"message":{"content":"a\xffb"}}]}'
    h = make(replies(httpx.Response(200, content=raw)))
    assert h.post()["choices"][0]["message"]["content"] == "a\ufffdb"
    frame = (
        b'data: {"id":"s1","choices":[{"index":0,"delta":{"content":"a\xffb"},'
        b'"finish_reason":"stop"}]}\n\n'
    )
    h = make(replies(stream_response(frame + b"data: [DONE]\n\n")))
    frames, error = h.stream()
    assert error is None
    assert frames[0]["choices"][0]["delta"]["content"] == "a\ufffdb"


def test_redirect_is_raised_at_once_naming_the_location(make: Callable[..., Harness]) -> None:
    moved = httpx.Response(302, headers={"location": "https://login.proxy.test/"})
    h = make(replies(moved, httpx.Response(200, json=REPLY)))
    with pytest.raises(GLMAPIError, match=r"redirect to https://login\.proxy\.test/") as info:
        h.post()
    assert not info.value.is_retryable
    assert len(h.requests) == 1


class Endless(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body of `total` bytes made on demand; counts how much the client pulled."""

    def __init__(self, piece: bytes, total: int) -> None:
        self.piece, self.total, self.pulled = piece, total, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.pulled < self.total:
            self.pulled += len(self.piece)
            yield self.piece

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self:
            yield piece


def test_a_100_mb_error_page_is_read_only_up_to_the_cap(make: Callable[..., Harness]) -> None:
    pages: list[Endless] = []

    def handler(request: httpx.Request) -> httpx.Response:
        pages.append(Endless(b"<html>" + b"x" * 65530, 100 * 1024 * 1024))
        return httpx.Response(502, stream=pages[-1], headers={"content-type": "text/html"})

    h = make(handler)
    with pytest.raises(GLMAPIError, match="error body over 4 MiB") as info:
        h.post()
    assert all(page.pulled <= ERROR_BODY_CAP + 65536 for page in pages)  # each stops at the cap
    assert len(h.requests) == 3
    assert len(str(info.value)) < 400


def test_an_endless_sse_line_is_an_error_not_a_memory_blowup(make: Callable[..., Harness]) -> None:
    line = Endless(b"x" * 65536, 300 * 1024 * 1024)
    content = httpx.Response(200, stream=line, headers={"content-type": "text/event-stream"})
    h = make(replies(content))
    frames, error = h.stream()
    assert frames == []
    assert isinstance(error, GLMAPIError)
    assert "SSE line is longer than 4 MiB" in str(error)
    assert line.pulled <= LINE_CAP + 2 * 65536
    assert len(h.requests) == 1


# ---------------------------------------------------------------- settings checked up front


@pytest.mark.parametrize(
    "key", ["sk-good\r\nX-Injected: 1", "key with space inside", "ключ-12345678", "k\x00ey-123456"]
)
def test_a_key_httpx_cannot_send_is_a_value_error_at_construction(key: str) -> None:
    with pytest.raises(ValueError, match="api_key") as info:
        GLMClient(base_url=BASE_URL, api_key=key)
    assert key.strip() not in str(info.value)
    assert "sk-good" not in str(info.value)


@pytest.mark.parametrize(
    "url", ["api.z.ai/api/paas/v4", "ftp://api.z.ai", "http://", "", "https://[::1"]
)
def test_an_invalid_base_url_is_a_value_error_at_construction(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        GLMClient(base_url=url, api_key=API_KEY)


def test_short_keys_do_not_garble_messages(make: Callable[..., Harness]) -> None:
    body = {"error": {"code": "1214", "message": "temperature must be between 0 and 1"}}
    h = make(replies(httpx.Response(400, json=body)), api_key="t")
    with pytest.raises(GLMError, match="must be between 0 and 1"):
        h.post()


SECRET_ECHO = f"bad token Bearer {API_KEY}"


@pytest.mark.parametrize(
    "respond",
    [
        lambda: httpx.Response(200, json={"error": {"code": "1001", "message": SECRET_ECHO}}),
        lambda: stream_response(sse(data({"error": {"code": "1001", "message": SECRET_ECHO}}))),
        lambda: stream_response(sse(data(FRAMES[0]), f"data: {{{SECRET_ECHO}")),
        lambda: stream_response(
            sse(data(FRAMES[0]), "event: error\n" + data({"error": SECRET_ECHO}))
        ),
        lambda: httpx.Response(200, text=f"<html>{SECRET_ECHO}</html>"),
    ],
    ids=["200-error-body", "error-frame", "malformed-frame", "event-error", "html-200"],
)
def test_echoed_keys_are_redacted_everywhere(
    make: Callable[..., Harness],
    caplog: pytest.LogCaptureFixture,
    respond: Callable[[], httpx.Response],
) -> None:
    h = make(lambda request: respond())
    with caplog.at_level(logging.DEBUG):
        if "event-stream" in respond().headers.get("content-type", ""):
            _, error = h.stream()
        else:
            with pytest.raises(GLMError) as info:
                h.post()
            error = info.value
    assert error is not None
    rendered = [str(error), repr(error), repr(error.args), caplog.text, repr(vars(error))]
    assert not any("very-secret" in text for text in rendered)
    assert "***" in str(error)


def test_auth_works_with_the_users_own_client_and_signs_each_retry(
    make: Callable[..., Harness],
) -> None:
    h = make(replies(error_response(500, "500"), httpx.Response(200, json=REPLY)), jwt_auth=True)
    h.post()
    tokens = [request.headers["Authorization"] for request in h.requests]
    assert len(tokens) == 2
    assert all(token.startswith("Bearer ey") for token in tokens)
    assert all("very-secret-value" not in token for token in tokens)


def test_per_call_views_share_the_pool_and_apply_their_timeout(
    make: Callable[..., Harness],
) -> None:
    h = make(replies(httpx.Response(200, json=REPLY)))
    view = h.client.with_options(timeout=7.0, max_retries=0)
    assert view.sync_http_client() is h.client.sync_http_client()
    if h.mode == "sync":
        view.post(PAYLOAD)
    else:
        asyncio.run(view.apost(PAYLOAD))
    assert h.requests[0].extensions["timeout"] == {
        "connect": 7.0,
        "read": 7.0,
        "write": 7.0,
        "pool": 7.0,
    }
    h.post()
    assert h.requests[1].extensions["timeout"] == {
        "connect": 10.0,
        "read": 600.0,
        "write": 600.0,
        "pool": 600.0,
    }


# ---------------------------------------------------------------- ChatGLM's client settings


def recording_model(sent: list[httpx.Request]) -> ChatGLM:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=REPLY)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return ChatGLM(base_url=BASE_URL, api_key=API_KEY, http_client=client)


def test_chatglm_checks_key_and_base_url_at_construction() -> None:
    with pytest.raises(ValueError, match="api_key") as info:
        ChatGLM(api_key="sk-pasted\r\nkey-1234")
    assert "sk-pasted" not in str(info.value)
    with pytest.raises(ValueError, match="api_key") as info:
        ChatGLM(api_key=12345678901234)
    assert "12345678901234" not in str(info.value)
    with pytest.raises(ValueError, match="base_url"):
        ChatGLM(base_url="api.z.ai/api/paas/v4", api_key="k")


@pytest.mark.parametrize("setting", ["api_key", "base_url", "jwt_auth"])
def test_chatglm_model_settings_per_call_are_a_value_error(setting: str) -> None:
    sent: list[httpx.Request] = []
    llm = recording_model(sent)
    value: dict[str, Any] = {"api_key": "other-key-1234", "base_url": "https://x", "jwt_auth": True}
    with pytest.raises(ValueError, match=setting):
        llm.invoke("x", **{setting: value[setting]})
    assert sent == []


def test_chatglm_reuses_one_client_and_timeouts_are_views_of_it() -> None:
    sent: list[httpx.Request] = []
    llm = recording_model(sent)
    for n in range(5):
        llm.invoke("x", timeout=1.0 + n)
    llm.invoke("x")
    assert [r.extensions["timeout"]["read"] for r in sent] == [1.0, 2.0, 3.0, 4.0, 5.0, 600.0]
    assert [r.extensions["timeout"]["connect"] for r in sent] == [1.0, 2.0, 3.0, 4.0, 5.0, 10.0]


@pytest.mark.parametrize("pool_type", [httpx.Client, httpx.AsyncClient])
@pytest.mark.parametrize("stream", [False, True])
def test_pool_requests_equal_what_httpx_builds(
    pool_type: type[httpx.Client] | type[httpx.AsyncClient], stream: bool
) -> None:
    # A pool we made (not the user's client) gets its requests built directly; they must be
    # what `build_request` makes, header for header, and so must those of a per-call view.
    pool = pool_type()
    glm = GLMClient(base_url=BASE_URL, api_key=API_KEY, default_headers={"X-App": "a"})
    view = glm.with_options(timeout=5, default_headers={"X-App": "b", "X-Run": "1"})
    for client, extra, timeout in (
        (glm, {"X-App": "a"}, 600),
        (view, {"X-App": "b", "X-Run": "1"}, 5),
    ):
        for _ in range(2):  # the second request reuses the merged headers
            fast = client.build_request(pool, "POST", "chat/completions", PAYLOAD, stream=stream)
            headers = {
                "Accept": "text/event-stream" if stream else "application/json",
                "User-Agent": f"langchain-glm/{__version__}",
                **extra,
                "Content-Type": "application/json",
            }
            built = pool.build_request(
                "POST",
                BASE_URL + "chat/completions",
                headers=headers,
                content=json.dumps(PAYLOAD, ensure_ascii=False, separators=(",", ":")).encode(),
                timeout=httpx.Timeout(timeout, connect=min(timeout, 10)),
            )
            assert (fast.method, fast.url, fast.content) == (built.method, built.url, built.content)
            assert fast.headers.raw == built.headers.raw
            assert fast.extensions == built.extensions


def test_a_pool_holding_cookies_sends_them() -> None:
    pool = httpx.Client()
    pool.cookies.set("acw_tc", "gateway-session", domain="glm.test")
    glm = GLMClient(base_url=BASE_URL, api_key=API_KEY)
    request = glm.build_request(pool, "POST", "chat/completions", PAYLOAD)
    assert request.headers["Cookie"] == "acw_tc=gateway-session"
