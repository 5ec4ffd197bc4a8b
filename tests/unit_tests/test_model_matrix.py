"""Every model of the capability table against every option: what is sent, what warns, what
raises before sending. Requests go through ChatGLM and an `httpx.MockTransport` that records
them, so "nothing was sent" is the transport's own log.

Expected outcomes are stated per capability (thinking kind, effort set, stop limit, maximum
output, inputs) and spot-checked on named models with literal values below, so the table and
these tests cannot agree on a mistake by construction.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage

from langchain_glm import ChatGLM, GLMCompatibilityWarning
from langchain_glm._models import MODELS, ModelSpec

OK = {
    "id": "1",
    "created": 1,
    "model": "m",
    "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
IMAGE = {"type": "image", "url": "https://example.com/cat.png"}
FILE = {"type": "file", "url": "https://example.com/a.pdf"}


class Recorder:
    """A MockTransport handler that keeps every request body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, json=OK)

    def model(self, name: str, **kwargs: Any) -> ChatGLM:
        client = httpx.Client(transport=httpx.MockTransport(self.handler))
        return ChatGLM(model=name, api_key="test-key-123", http_client=client, **kwargs)


def send(name: str, content: Any = "hi", **options: Any) -> tuple[dict[str, Any], list[str]]:
    """Invoke `name` with per-call `options`; return the body sent and the warnings raised."""
    recorder = Recorder()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recorder.model(name).invoke([HumanMessage(content=content)], **options)
    assert len(recorder.bodies) == 1
    messages = [str(w.message) for w in caught if issubclass(w.category, GLMCompatibilityWarning)]
    assert len(messages) == len(caught), [str(w.message) for w in caught]
    return recorder.bodies[0], messages


def refused(name: str, content: Any = "hi", **options: Any) -> str:
    """Invoke `name`, expect a ValueError before sending; return its message."""
    recorder = Recorder()
    with pytest.raises(ValueError, match=r".") as info:
        recorder.model(name).invoke([HumanMessage(content=content)], **options)
    assert recorder.bodies == []
    return str(info.value)


SPECS = list(MODELS.values())
IDS = list(MODELS)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_thinking_off(spec: ModelSpec) -> None:
    body, warned = send(spec.name, thinking=False)
    if spec.thinking == "none":
        assert ("thinking" not in body, warned) == (True, [])
    elif spec.thinking == "always":
        assert body["thinking"] == {"type": "enabled"}
        assert body["reasoning_effort"] == "low"
        assert len(warned) == 1
        assert "cannot be turned off" in warned[0]
    else:
        assert body["thinking"] == {"type": "disabled"}
        assert ("reasoning_effort" not in body, warned) == (True, [])


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_thinking_on_with_an_effort(spec: ModelSpec) -> None:
    effort = "high"
    if spec.thinking == "none":
        body, warned = send(spec.name, thinking=True, reasoning_effort=effort)
        assert "thinking" not in body
        assert len(warned) == 2  # effort ignored + no thinking
        return
    body, warned = send(spec.name, thinking=True, reasoning_effort=effort)
    assert body["thinking"] == {"type": "enabled"}
    if spec.efforts:
        assert (body["reasoning_effort"], warned) == ("high", [])
    else:
        assert "reasoning_effort" not in body
        assert warned == [
            f"{spec.name} ignores reasoning_effort (GLM takes it from glm-5.2 on), "
            "so reasoning_effort='high' is not sent."
        ]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_effort(spec: ModelSpec) -> None:
    for effort in ("none", "minimal", "low", "medium", "high", "xhigh", "max"):
        if spec.efforts and effort not in spec.efforts:
            message = refused(spec.name, reasoning_effort=effort)
            assert ", ".join(spec.efforts) in message
            continue
        body, warned = send(spec.name, reasoning_effort=effort)
        assert body.get("reasoning_effort") == (effort if spec.efforts else None)
        assert len(warned) == (0 if spec.efforts else 1)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_stop_words_up_to_the_model_limit(spec: ModelSpec) -> None:
    assert spec.max_stop is not None
    words = [f"w{i}" for i in range(spec.max_stop + 1)]
    body, _ = send(spec.name, stop=words[:-1])
    assert body["stop"] == words[:-1]
    assert f"at most {spec.max_stop} stop" in refused(spec.name, stop=words)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_max_tokens_up_to_the_model_maximum(spec: ModelSpec) -> None:
    assert spec.max_output is not None
    body, _ = send(spec.name, max_tokens=spec.max_output)
    assert body["max_tokens"] == spec.max_output
    assert "max_tokens" in refused(spec.name, max_tokens=spec.max_output + 1)
    assert "max_tokens" in refused(spec.name, max_tokens=0)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_top_p_minimum_is_001(spec: ModelSpec) -> None:
    assert "top_p=0" in refused(spec.name, top_p=0.0)
    body, _ = send(spec.name, top_p=0.01, temperature=0.0)
    assert (body["top_p"], body["temperature"]) == (0.01, 0.0)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_images(spec: ModelSpec) -> None:
    content = [{"type": "text", "text": "what is it?"}, IMAGE]
    if spec.inputs is not None and "image" in spec.inputs:
        body, _ = send(spec.name, content)
        assert body["messages"][0]["content"][1] == {
            "type": "image_url",
            "image_url": {"url": "https://example.com/cat.png"},
        }
    else:
        assert f"{spec.name} cannot take image input" in refused(spec.name, content)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_files(spec: ModelSpec) -> None:
    content = [{"type": "text", "text": "summarise"}, FILE]
    if spec.inputs is None or "file" not in spec.inputs:
        assert f"{spec.name} cannot take file input" in refused(spec.name, content)
        return
    part = send(spec.name, content)[0]["messages"][0]["content"][1]
    if spec.file_part == "file_url":
        assert part == {"type": "file_url", "file_url": {"url": "https://example.com/a.pdf"}}
    else:
        assert part == {"type": "file", "file": {"file_url": "https://example.com/a.pdf"}}
        assert "cannot mix" in refused(spec.name, [IMAGE, FILE])


def test_named_models_spot_checks() -> None:
    assert send("glm-5.3", thinking=False)[0]["reasoning_effort"] == "low"
    assert send("glm-5.2", thinking=False)[0]["thinking"] == {"type": "disabled"}
    assert send("glm-5.2", reasoning_effort="xhigh")[0]["reasoning_effort"] == "xhigh"
    assert "low, high, max" in refused("glm-5.3-flash", reasoning_effort="medium")
    assert send("glm-4.7", stop=["a", "b", "c", "d"])[0]["stop"] == ["a", "b", "c", "d"]
    assert "at most 1 stop" in refused("glm-4.6", stop=["a", "b"])
    assert "max_tokens" in refused("glm-4.6v", max_tokens=32769)
    assert "max_tokens" in refused("glm-5.3", max_tokens=131073)
    assert "cannot take image" in refused("glm-5.3", [IMAGE])
    part = send("glm-5.3-flash", [FILE])[0]["messages"][0]["content"][0]
    assert part == {"type": "file", "file": {"file_url": "https://example.com/a.pdf"}}


def test_clear_thinking_is_kept_on_every_model_that_thinks() -> None:
    for spec in SPECS:
        if spec.thinking == "none":
            continue
        body, _ = send(spec.name, thinking=False, clear_thinking=False)
        assert body["thinking"]["clear_thinking"] is False
        assert body["thinking"]["type"] == ("disabled" if spec.can_disable_thinking else "enabled")


def test_a_model_the_table_does_not_know_is_sent_as_given() -> None:
    body, warned = send(
        "my-finetune",
        thinking=False,
        reasoning_effort="medium",
        stop=[f"w{i}" for i in range(8)],
        top_p=0.0,
        max_tokens=10**7,
        content=[IMAGE, FILE],
    )
    assert warned == []
    assert body["thinking"] == {"type": "disabled"}
    assert body["reasoning_effort"] == "medium"
    assert (len(body["stop"]), body["top_p"], body["max_tokens"]) == (8, 0.0, 10**7)


def test_a_later_glm5_always_thinks_with_low_high_max() -> None:
    body, warned = send("glm-5.9", thinking=False)
    assert (body["thinking"], body["reasoning_effort"], len(warned)) == (
        {"type": "enabled"},
        "low",
        1,
    )
    assert "low, high, max" in refused("glm-5.9", reasoning_effort="xhigh")
