"""The pure behaviour: `GLMService.plan` and `answer` called directly, no carrier at all."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from langchain_glm._models import MODELS, spec_for
from langchain_glm.batch import dumps
from langchain_glm.testing import GLMService, RecordedRequest, auto_reply
from tests.testing.helpers import AUTH, chat, split_events

BATCHES = "/api/paas/v4/batches"

ALWAYS = {
    "error": {
        "code": "1210",
        "message": "This model always engages in thinking and cannot be disabled; "
        "please use low, high, or max",
    }
}


def request(body: Any, path: str = "/api/paas/v4/chat/completions") -> RecordedRequest:
    headers = {"authorization": AUTH["Authorization"]}
    return RecordedRequest("POST", path, headers, body, json.dumps(body).encode())


def served(service: GLMService, body: Any) -> tuple[int, Any]:
    plan = service.plan(request(body))
    data = b"".join(plan.chunks)
    return plan.status, (split_events(data) if body.get("stream") else json.loads(data))


def test_plan_is_callable_directly() -> None:
    service = GLMService()
    service.reply("abc", trickle=0.5, cut_after=2, chunk_size=1)
    plan = service.plan(request(chat(stream=True, thinking={"type": "disabled"})))
    assert (plan.status, plan.gap, plan.complete) == (200, 0.5, False)
    assert "Content-Length" not in plan.headers  # a stream goes chunked
    assert len(plan.chunks) == 2
    assert [gap for gap, _ in plan.paced()] == [0.0, 0.5]
    assert service.plan(request(chat(), path="/api/paas/v4/nope")).status == 404


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_of_the_table_is_served(model: str) -> None:
    status, body = served(GLMService(), {**chat(), "model": model})
    assert status == 200, body
    assert body["model"] == model


def _limits(model: str) -> list[tuple[dict[str, Any], str]]:
    spec = spec_for(model)
    assert spec is not None
    top = spec.max_output or 131072
    cases: list[tuple[dict[str, Any], str]] = [
        ({"max_tokens": top + 1}, f"max_tokens参数非法：限制数值范围[1,{top}]"),  # noqa: RUF001
        ({"top_p": spec.top_p[1] + 0.5}, "top_p: must be between"),
        ({"temperature": spec.temperature[1] + 0.5}, "temperature: must be between"),
    ]
    if spec.max_stop is not None:
        cases.append(({"stop": ["s"] * (spec.max_stop + 1)}, f"stop: at most {spec.max_stop} stop"))
    return cases


@pytest.mark.parametrize("model", sorted(MODELS))
def test_limits_come_from_the_table(model: str) -> None:
    spec = spec_for(model)
    assert spec is not None
    service = GLMService()
    fine = {
        "max_tokens": spec.max_output,
        "top_p": spec.top_p[1],
        "stop": ["s"] * (spec.max_stop or 1),
    }
    assert served(service, {**chat(), "model": model, **fine})[0] == 200
    for change, message in _limits(model):
        status, body = served(service, {**chat(), "model": model, **change})
        assert status == 400, change
        assert body["error"]["message"].startswith(message), body


@pytest.mark.parametrize("model", ["glm-5.3", "glm-5.3-flash", "glm-5.3-flashx"])
def test_always_thinking_models_refuse_disabled_and_bad_efforts(model: str) -> None:
    service = GLMService()
    for change in ({"thinking": {"type": "disabled"}}, {"reasoning_effort": "medium"}):
        assert served(service, {**chat(), "model": model, **change}) == (400, ALWAYS)
    accepted = {"thinking": {"type": "enabled"}, "reasoning_effort": "low"}
    assert served(service, {**chat(), "model": model, **accepted})[0] == 200


def test_effort_is_ignored_where_the_model_has_none() -> None:
    assert served(GLMService(), {**chat(), "model": "glm-4.7", "reasoning_effort": "xyz"})[0] == 200


def test_context_overflow_is_1261_at_the_model_limit() -> None:
    spec = spec_for("glm-4.6")
    assert spec is not None
    assert spec.context_window is not None
    huge = "x" * (spec.context_window * 4 + 100)
    status, body = served(GLMService(), chat(huge))
    assert (status, body) == (
        400,
        {"error": {"code": "1261", "message": "Prompt exceeds max length"}},
    )
    assert served(GLMService(), {**chat(huge), "model": "glm-5.3"})[0] == 200  # 1M window


@pytest.mark.parametrize(
    ("part", "kind"),
    [
        ({"type": "image_url", "image_url": {"url": "https://x/a.png"}}, "image"),
        ({"type": "video_url", "video_url": {"url": "https://x/a.mp4"}}, "video"),
        ({"type": "file", "file": {"file_id": "f1"}}, "file"),
    ],
)
def test_media_to_text_only_models(part: dict[str, Any], kind: str) -> None:
    content = [{"type": "text", "text": "see"}, part]
    status, body = served(GLMService(), chat(content))
    assert status == 400
    assert body["error"] == {
        "code": "1210",
        "message": f"messages[0].content[1]: model glm-4.6 does not accept {kind} input",
    }
    assert served(GLMService(), {**chat(content), "model": "glm-5.3-flash"})[0] == 200


def test_modern_stream_shape_reasoning_straight_to_tools() -> None:
    service = GLMService()
    calls = [{"name": "a", "arguments": {"q": 1}}, {"name": "b", "arguments": {}}]
    service.reply(reasoning="think.\n\n", tool_calls=calls, chunk_size=4)
    _, events = served(service, {**chat(stream=True), "model": "glm-5.3-flash"})
    frames = [json.loads(e) for e in events[:-1]]
    assert all(f["object"] == "chat.completion.chunk" for f in frames)
    assert all(list(f)[:4] == ["id", "created", "object", "model"] for f in frames)
    deltas = [f["choices"][0]["delta"] for f in frames]
    assert deltas[0] == {"role": "assistant", "reasoning_content": "thin"}
    assert all(d.get("content") != "\n" and d.get("reasoning_content") != "" for d in deltas)
    assert [list(d) for d in deltas[:-1]] == [["role", "reasoning_content"]] * 2 + [
        ["tool_calls"]
    ] * 2
    usage = frames[-1]["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] > 0
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}


def test_modern_stream_text_deltas_repeat_role() -> None:
    _, events = served(GLMService(), {**chat("hi", stream=True), "model": "glm-4.7"})
    deltas = [json.loads(e)["choices"][0]["delta"] for e in events[:-1]]
    assert all(d["role"] == "assistant" for d in deltas)
    assert deltas[0] == {"role": "assistant", "reasoning_content": "The user"}
    assert "".join(d.get("content", "") for d in deltas) == "You said: hi"


def test_modern_non_stream_shape() -> None:
    service = GLMService()
    service.reply(tool_calls=[{"name": "f", "arguments": {}}], reasoning="r")
    _, body = served(service, {**chat(), "model": "glm-4.7-flash"})
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == ""  # "" beside tool calls, not absent
    assert body["usage"]["completion_tokens_details"] == {"reasoning_tokens": 1}


def test_reasoning_effort_is_honoured() -> None:
    def reasoning(effort: str) -> tuple[str, int]:
        body = {**chat(), "model": "glm-5.3", "reasoning_effort": effort}
        message = served(GLMService(), body)[1]
        return message["choices"][0]["message"]["reasoning_content"], message["usage"][
            "completion_tokens_details"
        ]["reasoning_tokens"]

    (low, low_tokens), (high, _), (top, top_tokens) = map(reasoning, ("low", "high", "max"))
    assert len(low) < len(high) < len(top)
    assert low_tokens < top_tokens
    default = served(GLMService(), {**chat(), "model": "glm-5.3"})[1]
    assert default["choices"][0]["message"]["reasoning_content"] == top  # unset means max
    skipped = served(GLMService(), {**chat(), "model": "glm-5.2", "reasoning_effort": "none"})[1]
    assert "reasoning_content" not in skipped["choices"][0]["message"]


def test_answer_follows_the_scripting() -> None:
    service = GLMService()
    service.reply("queued", stream_error=None)
    service.reply_error(429, "1302", "slow down")
    status, body = service.answer(chat(stream=True))
    assert (status, body["choices"][0]["message"]["content"]) == (200, "queued")
    assert service.answer(chat()) == (429, {"error": {"code": "1302", "message": "slow down"}})
    service.reply_error(502, "1234", "gateway", html=True)  # a batch row is JSON, never a page
    assert service.answer(chat()) == (502, {"error": {"code": "1234", "message": "gateway"}})
    rejected = service.answer(chat(tool_choice="required"))
    assert rejected == (400, {"error": {"code": "1210", "message": "Tool choice must be auto"}})
    service.script(auto_reply)
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    called = service.answer(chat("use f", tools=[tool]))[1]["choices"][0]["message"]["tool_calls"]
    assert called[0]["function"]["name"] == "f"  # named by the user: called
    unrelated = service.answer(chat("hello", tools=[tool]))[1]["choices"][0]["message"]
    assert "tool_calls" not in unrelated  # a message no tool fits gets text


def test_batch_paths_go_to_the_batch_emulation() -> None:
    service = GLMService()
    service.reply("from the queue")
    line = {"custom_id": "c0", "method": "POST", "url": "/v4/chat/completions", "body": chat("b")}
    upload = httpx.Request("POST", "http://x", data={"purpose": "batch"}, files={"file": b""})
    ctype = upload.headers["content-type"]
    content = upload.read().replace(b"\r\n\r\n\r\n", b"\r\n\r\n" + dumps(line) + b"\r\n")
    headers = {"authorization": AUTH["Authorization"], "content-type": ctype}
    sent = RecordedRequest("POST", "/api/paas/v4/files", headers, None, content)
    file_id = json.loads(b"".join(service.plan(sent).chunks))["id"]
    assert file_id in service.batch_state["files"]
    created = service.plan(request({"input_file_id": file_id, "endpoint": line["url"]}, BATCHES))
    batch_id = json.loads(b"".join(created.chunks))["id"]
    get = RecordedRequest("GET", f"{BATCHES}/{batch_id}", headers, None)
    statuses = [json.loads(b"".join(service.plan(get).chunks))["status"] for _ in range(3)]
    assert statuses == ["in_progress", "finalizing", "completed"]
    output = service.batch_state["batches"][batch_id]["output_file_id"]
    result = json.loads(service.batch_state["files"][output]["content"])
    assert result["response"]["body"]["choices"][0]["message"]["content"] == "from the queue"
    assert service.pending == 0
    anonymous = RecordedRequest("GET", f"{BATCHES}/{batch_id}", {}, None)
    assert service.plan(anonymous).status == 401


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", f"{BATCHES}/batch_1", "batch batch_1 not found"),
        ("DELETE", "/api/paas/v4/files/file_1", "file file_1 not found"),
    ],
)
def test_unknown_batch_ids_are_named_in_the_404(method: str, path: str, message: str) -> None:
    headers = {"authorization": AUTH["Authorization"]}
    plan = GLMService().plan(RecordedRequest(method, path, headers, None))
    assert plan.status == 404
    assert json.loads(b"".join(plan.chunks))["error"]["message"] == message


def test_fail_answers_the_next_matching_path_with_an_error() -> None:
    service = GLMService()
    service.fail("/batches", 503, "1234")
    assert service.plan(request(chat())).status == 200  # another path: untouched
    failed = service.plan(request({}, BATCHES))
    assert failed.status == 503
    assert json.loads(b"".join(failed.chunks))["error"]["code"] == "1234"
    assert service.plan(request({}, BATCHES)).status == 400  # one-shot: now the real answer
