"""ChatGLM over `httpx.MockTransport`: every scenario through the sync and async paths."""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import Callable
from functools import reduce
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)

from langchain_glm import (
    ChatGLM,
    GLMAuthenticationError,
    GLMCompatibilityWarning,
    GLMQuotaExceededError,
    GLMRateLimitError,
)

SECRET = "sk-very-secret-123.abc"


def body_t1(**message: Any) -> dict[str, Any]:
    msg = {"role": "assistant", "content": "\nOi!", "reasoning_content": "thinking", **message}
    return {
        "choices": [{"finish_reason": "stop", "index": 0, "message": msg}],
        "created": 1761231561,
        "id": "20251023225903cf0228dfd8f1415d",
        "model": "glm-4.6",
        "request_id": "20251023225903cf0228dfd8f1415d",
        "usage": {
            "completion_tokens": 9,
            "prompt_tokens": 18,
            "prompt_tokens_details": {"cached_tokens": 3},
            "total_tokens": 27,
        },
    }


def sse(frames: list[dict[str, Any]]) -> bytes:
    return ("".join(f"data: {json.dumps(f)}\n\n" for f in frames) + "data: [DONE]\n\n").encode()


def frame(delta: dict[str, Any], **top: Any) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "delta": delta}
    if "finish_reason" in top:
        choice["finish_reason"] = top.pop("finish_reason")
    return {"id": "2025x", "created": 1, "model": "glm-4.6", "choices": [choice], **top}


STREAM = [
    frame({"role": "assistant", "content": "\n"}),
    frame({"role": "assistant", "reasoning_content": "Let me"}),
    frame({"role": "assistant", "reasoning_content": " think."}),
    frame({"role": "assistant", "content": "\n", "reasoning_content": ""}),
    frame({"role": "assistant", "content": "Hello", "reasoning_content": ""}),
    frame({"role": "assistant", "content": " world", "reasoning_content": ""}),
    frame(
        {"role": "assistant", "content": ""},
        finish_reason="stop",
        usage={"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    ),
]


class Server:
    """A scripted MockTransport handler that records every request."""

    def __init__(
        self, *responses: httpx.Response | Callable[[httpx.Request], httpx.Response]
    ) -> None:
        self.queue = list(responses)
        self.requests: list[httpx.Request] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content)
        if self.queue:
            nxt = self.queue.pop(0)
            return nxt(request) if callable(nxt) else nxt
        if body.get("stream"):
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=sse(STREAM)
            )
        return httpx.Response(200, json=body_t1())

    def model(self, **kwargs: Any) -> ChatGLM:
        transport = httpx.MockTransport(self.handler)
        return ChatGLM(
            api_key=SECRET,
            http_client=httpx.Client(transport=transport),
            http_async_client=httpx.AsyncClient(transport=transport),
            **kwargs,
        )


Mode = str
MODES = ["sync", "async"]


def invoke(llm: Any, mode: Mode, messages: Any, **kwargs: Any) -> BaseMessage:
    if mode == "sync":
        return llm.invoke(messages, **kwargs)  # type: ignore[no-any-return]
    return asyncio.run(llm.ainvoke(messages, **kwargs))  # type: ignore[no-any-return]


def stream(llm: Any, mode: Mode, messages: Any, **kwargs: Any) -> list[AIMessageChunk]:
    if mode == "sync":
        return list(llm.stream(messages, **kwargs))

    async def collect() -> list[AIMessageChunk]:
        return [c async for c in llm.astream(messages, **kwargs)]

    return asyncio.run(collect())


@pytest.mark.parametrize("mode", MODES)
def test_invoke(mode: Mode) -> None:
    server = Server()
    msg = invoke(server.model(), mode, "Say hi in Portuguese")
    assert isinstance(msg, AIMessage)
    assert msg.content == "\nOi!"
    assert msg.additional_kwargs["reasoning_content"] == "thinking"
    assert msg.usage_metadata == {
        "input_tokens": 18,
        "output_tokens": 9,
        "total_tokens": 27,
        "input_token_details": {"cache_read": 3},
    }
    assert msg.response_metadata["model_name"] == "glm-4.6"
    assert msg.response_metadata["finish_reason"] == "stop"
    request = server.requests[0]
    assert request.url == "https://open.bigmodel.cn/api/paas/v4/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert server.bodies[0] == {
        "model": "glm-4.6",
        "messages": [{"role": "user", "content": "Say hi in Portuguese"}],
        "stream": False,
    }


@pytest.mark.parametrize("mode", MODES)
def test_stream(mode: Mode) -> None:
    server = Server()
    chunks = stream(server.model(), mode, "hi")
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert [c.additional_kwargs.get("reasoning_content") for c in chunks[:2]] == [
        "Let me",
        " think.",
    ]
    assert chunks[-1].chunk_position == "last"
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    full = reduce(lambda a, b: a + b, chunks)
    assert full.content == "\n\nHello world"
    assert full.additional_kwargs["reasoning_content"] == "Let me think."
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.response_metadata["model_name"] == "glm-4.6"
    assert [b["type"] for b in full.content_blocks] == ["reasoning", "text"]
    assert server.bodies[0]["stream"] is True


@pytest.mark.parametrize("mode", MODES)
def test_streaming_field_aggregates_invoke(mode: Mode) -> None:
    server = Server()
    msg = invoke(server.model(streaming=True), mode, "hi")
    assert msg.content == "\n\nHello world"
    assert msg.additional_kwargs["reasoning_content"] == "Let me think."
    assert server.bodies[0]["stream"] is True


@pytest.mark.parametrize("mode", MODES)
def test_v1_output_is_clean(mode: Mode) -> None:
    server = Server()
    chunks = stream(server.model(output_version="v1"), mode, "hi")
    full = reduce(lambda a, b: a + b, chunks)
    types = [b["type"] for b in full.content_blocks]
    assert types == ["reasoning", "text"]
    invoked = invoke(server.model(output_version="v1"), mode, "hi")
    assert [b["type"] for b in invoked.content_blocks] == ["reasoning", "text"]


@pytest.mark.parametrize("mode", MODES)
def test_fields_and_per_call_overrides_reach_the_body(mode: Mode) -> None:
    server = Server()
    llm = server.model(
        model="glm-4.5-air",
        thinking=True,
        clear_thinking=False,
        temperature=0.2,
        top_p=0.8,
        max_tokens=100,
        stop=["END"],
        do_sample=True,
        model_kwargs={"user_id": "user-123456"},
    )
    invoke(llm, mode, "x", thinking=False, max_tokens=50, model="glm-4.6", request_id="r-1")
    body = server.bodies[0]
    assert body["model"] == "glm-4.6"
    assert body["thinking"] == {"type": "disabled", "clear_thinking": False}
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.2, 0.8, 50)
    assert body["stop"] == ["END"]
    assert body["do_sample"] is True
    assert body["user_id"] == "user-123456"
    assert body["request_id"] == "r-1"


@pytest.mark.parametrize("mode", MODES)
def test_bad_input_fails_before_any_request(mode: Mode) -> None:
    server = Server()
    with pytest.raises(ValueError, match="at most 1 stop sequence"):
        invoke(server.model(), mode, "x", stop=["a", "b"])
    with pytest.raises(ValueError, match="temperature"):
        invoke(server.model(), mode, "x", temperature=2)
    with pytest.raises(ValueError, match="audio"):
        invoke(server.model(), mode, [HumanMessage(content=[{"type": "audio", "base64": "x"}])])
    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_missing_key_fails_before_any_request(mode: Mode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    monkeypatch.delenv("ZHIPUAI_API_KEY", raising=False)
    server = Server()
    transport = httpx.MockTransport(server.handler)
    llm = ChatGLM(
        http_client=httpx.Client(transport=transport),
        http_async_client=httpx.AsyncClient(transport=transport),
    )
    with pytest.raises(GLMAuthenticationError, match="ZAI_API_KEY"):
        invoke(llm, mode, "x")
    assert server.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_reasoning_and_tool_calls_go_back_in_multi_turn(mode: Mode) -> None:
    server = Server()
    first = AIMessage(
        "",
        additional_kwargs={"reasoning_content": "I need the weather."},
        tool_calls=[
            {"name": "weather", "args": {"city": "Rome"}, "id": "call_1", "type": "tool_call"}
        ],
        response_metadata={"model_provider": "zhipuai"},
    )
    history = [HumanMessage("weather?"), first, ToolMessage("30 C", tool_call_id="call_1")]
    invoke(server.model(), mode, history)
    sent = server.bodies[0]["messages"]
    assert sent[1] == {
        "role": "assistant",
        "reasoning_content": "I need the weather.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Rome"}'},
            }
        ],
    }
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "30 C"}


@pytest.mark.parametrize("mode", MODES)
def test_tool_stream_only_on_streaming_calls_with_tools(mode: Mode) -> None:
    server = Server()
    llm = server.model(tool_stream=True).bind_tools(
        [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    )
    invoke(llm, mode, "x")
    stream(llm, mode, "x")
    assert "tool_stream" not in server.bodies[0]
    assert server.bodies[1]["tool_stream"] is True
    assert server.bodies[1]["tool_choice"] == "auto"


@pytest.mark.parametrize("mode", MODES)
def test_billing_429_is_not_retried_but_rate_limit_is(mode: Mode) -> None:
    arrears = httpx.Response(
        429, json={"error": {"code": "1113", "message": "Insufficient balance"}}
    )
    server = Server(arrears)
    with pytest.raises(GLMQuotaExceededError, match="1113"):
        invoke(server.model(), mode, "x")
    assert len(server.requests) == 1

    busy = {"error": {"code": "1302", "message": "High concurrency usage"}}
    server = Server(httpx.Response(429, json=busy, headers={"retry-after": "0.01"}))
    assert invoke(server.model(), mode, "x").content == "\nOi!"
    assert len(server.requests) == 2

    server = Server(*[httpx.Response(429, json=busy, headers={"retry-after": "0.01"})] * 3)
    with pytest.raises(GLMRateLimitError):
        invoke(server.model(max_retries=1), mode, "x")
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_stream_cut_midway_raises_after_yielded_chunks(mode: Mode) -> None:
    cut = ("".join(f"data: {json.dumps(f)}\n\n" for f in STREAM[:5])).encode()
    server = Server(httpx.Response(200, headers={"content-type": "text/event-stream"}, content=cut))
    seen: list[AIMessageChunk] = []

    async def consume_async() -> None:
        async for chunk in server.model().astream("x"):
            seen.append(chunk)  # noqa: PERF401 - the chunks before the error are the point

    def consume() -> None:
        if mode == "sync":
            seen.extend(server.model().stream("x"))
        else:
            asyncio.run(consume_async())

    with pytest.raises(Exception, match="without \\[DONE\\]") as info:
        consume()
    assert "ModelConnectionError" in {c.__name__ for c in type(info.value).__mro__}
    assert "".join(str(c.content) for c in seen) == "\n\nHello"
    assert len(server.requests) == 1


def test_secret_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = Server(
        httpx.Response(401, json={"error": {"code": "1002", "message": "Invalid token"}})
    )
    llm = server.model()
    with pytest.raises(GLMAuthenticationError) as info:
        llm.invoke("x")
    texts = [
        repr(llm),
        str(llm),
        dumps(llm),
        json.dumps(dumpd(llm)),
        str(info.value),
        repr(info.value),
        caplog.text,
    ]
    assert all(SECRET not in text for text in texts)
    assert "1002" in str(info.value)


def test_env_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    monkeypatch.delenv("ZAI_BASE_URL", raising=False)
    monkeypatch.setenv("ZHIPUAI_API_KEY", "zk")
    monkeypatch.setenv("ZHIPUAI_BASE_URL", "http://127.0.0.1:9/v1")
    llm = ChatGLM()
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == "zk"
    assert llm.base_url == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("ZAI_API_KEY", "zai")
    second = ChatGLM()
    assert second.api_key is not None
    assert second.api_key.get_secret_value() == "zai"


def test_identity_profile_and_tracing() -> None:
    llm = ChatGLM(model="glm-4.6", temperature=0.5, max_tokens=10, stop="END")
    params = llm._get_ls_params()
    assert params == {
        "ls_provider": "zhipuai",
        "ls_model_name": "glm-4.6",
        "ls_model_type": "chat",
        "ls_temperature": 0.5,
        "ls_max_tokens": 10,
        "ls_stop": ["END"],
    }
    assert llm.profile is not None
    assert llm.profile["max_input_tokens"] == 200 * 1024
    assert llm.profile["tool_choice"] is False
    assert ChatGLM(model="glm-4.6v").profile["image_inputs"] is True  # type: ignore[index]
    assert ChatGLM(model="my-finetune").profile is None
    assert ChatGLM(model_name="glm-4.5").model_name == "glm-4.5"


@pytest.mark.parametrize("mode", MODES)
def test_unknown_constructor_keywords_go_to_the_body(mode: Mode) -> None:
    server = Server()
    with pytest.warns(UserWarning, match="request_id"):
        llm = server.model(request_id="fixed-id")
    assert llm.model_kwargs == {"request_id": "fixed-id"}
    invoke(llm, mode, "x")
    assert server.bodies[0]["request_id"] == "fixed-id"


def test_known_fields_inside_model_kwargs_are_an_error() -> None:
    with pytest.raises(ValueError, match="temperature"):
        ChatGLM(model_kwargs={"temperature": 0.5})


@pytest.mark.parametrize("mode", MODES)
def test_client_settings_can_be_overridden_per_call(mode: Mode) -> None:
    busy = {"error": {"code": "1302", "message": "busy"}}
    server = Server(*[httpx.Response(429, json=busy, headers={"retry-after": "0"})] * 2)
    with pytest.raises(GLMRateLimitError):
        invoke(server.model(max_retries=5), mode, "x", max_retries=0, timeout=5.0)
    assert len(server.requests) == 1
    assert "max_retries" not in server.bodies[0]
    assert "timeout" not in server.bodies[0]
    headers = {"X-Trace": "abc"}
    invoke(server.model(), mode, "x", default_headers=headers)
    assert server.requests[-1].headers["x-trace"] == "abc"


def test_a_key_echoed_by_the_server_is_redacted() -> None:
    echo = {"error": {"code": "1002", "message": f"Authorization Token {SECRET} is invalid"}}
    server = Server(httpx.Response(401, json=echo))
    with pytest.raises(GLMAuthenticationError) as info:
        server.model().invoke("x")
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)
    assert "Token *** is invalid" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_model_name_falls_back_to_the_requested_model(mode: Mode) -> None:
    body = body_t1()
    del body["model"]
    frames = [{k: v for k, v in f.items() if k != "model"} for f in STREAM]
    server = Server(
        httpx.Response(200, json=body),
        httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse(frames)),
    )
    llm = server.model(model="glm-4.5-air")
    assert invoke(llm, mode, "x").response_metadata["model_name"] == "glm-4.5-air"
    streamed = reduce(lambda a, b: a + b, stream(llm, mode, "x"))
    assert streamed.response_metadata["model_name"] == "glm-4.5-air"


# ----------------------------------------------------------------- per-call settings


@pytest.mark.parametrize(
    ("thinking", "sent"),
    [
        ({"type": "disabled"}, {"type": "disabled"}),
        (False, {"type": "disabled"}),
        (
            {"type": "enabled", "clear_thinking": False},
            {"type": "enabled", "clear_thinking": False},
        ),
        (True, {"type": "enabled"}),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_per_call_thinking_is_sent_as_asked(mode: Mode, thinking: Any, sent: Any) -> None:
    server = Server()
    invoke(server.model(thinking=True), mode, "x", thinking=thinking)
    invoke(server.model().bind(thinking=thinking), mode, "x")
    assert [b["thinking"] for b in server.bodies] == [sent, sent]


@pytest.mark.parametrize(
    "thinking", ["disabled", 0, 1, "false", {"type": "auto"}, {"type": "enabled", "x": 1}]
)
@pytest.mark.parametrize("mode", MODES)
def test_a_bad_thinking_value_fails_before_sending(mode: Mode, thinking: Any) -> None:
    server = Server()
    with pytest.raises(ValueError, match="not a thinking setting"):
        invoke(server.model(), mode, "x", thinking=thinking)
    with pytest.raises(ValueError, match="not a thinking setting"):
        invoke(server.model().bind(thinking=thinking), mode, "x")
    with pytest.raises(ValueError, match="not a thinking setting"):
        server.model(thinking=thinking)
    assert server.requests == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("temperature", "hot"),
        ("max_tokens", "10"),
        ("max_tokens", 10.0),
        ("do_sample", "false"),
        ("top_p", True),
        ("reasoning_effort", "MAX"),
        ("clear_thinking", 0),
        ("model", 46),
        ("model_kwargs", ["x"]),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_a_wrong_per_call_type_is_a_value_error(mode: Mode, key: str, value: Any) -> None:
    server = Server()
    with pytest.raises(ValueError, match=f"{key}=") as info:
        invoke(server.model(), mode, "x", **{key: value})
    assert not isinstance(info.value, TypeError)
    assert server.requests == []


WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


class _Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.starts.append(kwargs)


@pytest.mark.parametrize(
    ("key", "value"), [("api_key", SECRET), ("base_url", "http://x"), ("jwt_auth", True)]
)
@pytest.mark.parametrize("mode", MODES)
def test_model_settings_per_call_are_refused_before_callbacks(
    mode: Mode, key: str, value: Any
) -> None:
    server = Server()
    recorder = _Recorder()
    with pytest.raises(ValueError, match=rf"set it on the model: ChatGLM\({key}=\.\.\.\)"):
        invoke(server.model(), mode, "x", config={"callbacks": [recorder]}, **{key: value})
    assert recorder.starts == []
    assert server.requests == []


def test_per_call_values_land_in_invocation_params_but_no_key() -> None:
    server = Server()
    recorder = _Recorder()
    llm = server.model(model="glm-5.3")
    llm.invoke("x", config={"callbacks": [recorder]}, reasoning_effort="high")
    params = recorder.starts[0]["invocation_params"]
    assert params["reasoning_effort"] == "high"
    assert SECRET not in json.dumps(params, default=str)


def test_the_forcing_warning_comes_once_per_model_at_bind_time() -> None:
    server = Server()
    llm = server.model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bound = llm.bind_tools([WEATHER], tool_choice="any")
        llm.bind_tools([WEATHER], tool_choice="weather")
    assert [w.category for w in caught] == [GLMCompatibilityWarning]
    assert "only tool_choice='auto'" in str(caught[0].message)
    bound.invoke("x")  # no warning on the call (filterwarnings=error would fail it)
    bound.invoke("x")
    with pytest.warns(GLMCompatibilityWarning):
        server.model().bind_tools([WEATHER], tool_choice=True)
    assert "calling the tool `weather`" in server.bodies[0]["messages"][0]["content"]


def _tool(name: str, parameters: Any = None) -> dict[str, Any]:
    function = {
        "name": name,
        "parameters": {"type": "object"} if parameters is None else parameters,
    }
    return {"type": "function", "function": function}


@pytest.mark.parametrize(
    ("tools", "fragment"),
    [
        ([_tool(f"t{i}") for i in range(129)], "at most 128 tools; got 129"),
        ([_tool("has space")], "must match"),
        ([_tool("x" * 65)], "must match"),
        ([_tool("ok", {"type": "string"})], "JSON-schema object"),
        ([_tool("ok", ["x"])], "JSON-schema object"),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_bad_tools_fail_at_bind_and_per_call(mode: Mode, tools: Any, fragment: str) -> None:
    server = Server()
    with pytest.raises(ValueError, match=fragment):
        server.model().bind_tools(tools)
    with pytest.raises(ValueError, match=fragment):
        invoke(server.model(), mode, "x", tools=tools)
    assert server.requests == []


def _call(call_id: str) -> AIMessage:
    return AIMessage(
        "", tool_calls=[{"name": "weather", "args": {}, "id": call_id, "type": "tool_call"}]
    )


@pytest.mark.parametrize(
    ("history", "fragment"),
    [
        (
            [HumanMessage("x"), ToolMessage("30 C", tool_call_id="nope")],
            "answers no earlier tool call",
        ),
        ([HumanMessage("x"), _call("c1"), HumanMessage("and?")], r"\['c1'\] from messages\[1\]"),
        (
            [
                HumanMessage("x"),
                _call("c1"),
                ToolMessage("1", tool_call_id="c1"),
                ToolMessage("2", tool_call_id="c2"),
            ],
            "'c2' answers no earlier",
        ),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_unmatched_tool_results_fail_before_sending(
    mode: Mode, history: Any, fragment: str
) -> None:
    server = Server()
    with pytest.raises(ValueError, match=fragment):
        invoke(server.model(), mode, history)
    assert server.requests == []


def test_an_empty_model_is_refused() -> None:
    with pytest.raises(ValueError, match="model is empty"):
        ChatGLM(model=" ", api_key=SECRET)
    server = Server()
    with pytest.raises(ValueError, match="a GLM model id is needed"):
        server.model().invoke("x", model="")
    assert server.requests == []


def test_reasoning_effort_and_model_kwargs_identify_the_model() -> None:
    base = ChatGLM(model="glm-5.3", api_key=SECRET)
    assert (
        base._identifying_params
        != ChatGLM(model="glm-5.3", reasoning_effort="low")._identifying_params
    )
    kwargs = ChatGLM(model="glm-5.3", model_kwargs={"user_id": "u-123456"})
    assert kwargs._identifying_params["user_id"] == "u-123456"
    assert base._identifying_params != kwargs._identifying_params
